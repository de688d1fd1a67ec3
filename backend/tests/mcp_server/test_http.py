"""The official MCP client against ``/mcp`` of a real server (Streamable HTTP over a socket)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers.server import ServerProcess, tiny_server
from tests.mcp_server.conftest import McpApp
from tests.mcp_server.tools import check_tools, tool_error

LOADED = "/api/v1/models/loaded"

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"},
    },
}


def _client(app: McpApp, headers: dict[str, str], statuses: list[int] | None = None) -> Client:
    """The SDK's client on the HTTP transport with our headers (as a host configures them);
    ``statuses`` collects the HTTP status of every answer."""

    async def record(response: httpx2.Response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    http = httpx2.AsyncClient(
        headers=headers, timeout=httpx2.Timeout(300), event_hooks={"response": [record]}
    )
    return Client(streamable_http_client(app.mcp_url, http_client=http))


async def test_tools_over_http_with_a_key(mcp_app: McpApp) -> None:
    async with _client(mcp_app, mcp_app.auth) as client:
        await check_tools(client)


async def test_x_api_key_header_works_too(mcp_app: McpApp) -> None:
    async with _client(mcp_app, {"x-api-key": mcp_app.key}) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "generate" in names


def test_refused_without_a_key(mcp_app: McpApp) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    for extra in ({}, {"Authorization": "Bearer mp-not-a-key"}):
        response = httpx.post(mcp_app.mcp_url, json=INITIALIZE, headers={**headers, **extra})
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "invalid_api_key"


async def test_sdk_client_without_a_key_fails_to_connect(mcp_app: McpApp) -> None:
    statuses: list[int] = []
    with pytest.raises(Exception):  # noqa: B017, PT011 (the SDK wraps the failure in groups)
        async with _client(mcp_app, {}, statuses) as client:
            await client.list_tools()
    assert statuses and set(statuses) == {401}


def test_foreign_host_and_origin_refused(mcp_app: McpApp) -> None:
    """DNS rebinding: a page whose name points at 127.0.0.1 sends its own Host or Origin."""
    headers = {"Accept": "application/json, text/event-stream", **mcp_app.auth}
    bad_host = httpx.post(
        mcp_app.mcp_url, json=INITIALIZE, headers={**headers, "Host": "evil.example"}
    )
    assert bad_host.status_code == 400, bad_host.text
    bad_origin = httpx.post(
        mcp_app.mcp_url, json=INITIALIZE, headers={**headers, "Origin": "http://evil.example"}
    )
    assert bad_origin.status_code == 403, bad_origin.text
    local_origin = httpx.post(
        mcp_app.mcp_url,
        json=INITIALIZE,
        headers={**headers, "Origin": "http://localhost:6274"},
    )
    assert local_origin.status_code == 200, local_origin.text


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory, models_dir) -> Iterator[ServerProcess]:
    """A server (auth off: the cap counts per client address) that runs one generation per
    caller at a time."""
    data = tmp_path_factory.mktemp("mcp-capped")
    server = tiny_server(models_dir, data, MP_MAX_CONCURRENT_GENERATIONS_PER_KEY="1").start()
    yield server
    server.stop()


async def test_generation_limits_apply_over_mcp(capped_server: ServerProcess) -> None:
    """A tool call is admitted as the caller's generation: a second one while the first runs
    is refused by the per-caller cap, as a tool error; the first completes."""
    url = f"{capped_server.url}/mcp"
    async with Client(url) as first, Client(url) as second:
        # Greedy on the tiny model runs to max_tokens (no end-of-turn), long enough to overlap.
        running = asyncio.create_task(
            first.call_tool("generate", {"prompt": "The cat", "max_tokens": 200, "temperature": 0})
        )
        async with httpx.AsyncClient(base_url=capped_server.url, timeout=30) as http:
            deadline = time.monotonic() + 120
            while not any(m["active_requests"] for m in (await http.get(LOADED)).json()):
                assert not running.done() and time.monotonic() < deadline, "never ran"
                await asyncio.sleep(0.05)
        refused = await tool_error(second, "generate", {"prompt": "Hi", "max_tokens": 2})
        assert "already runs 1 generations at once" in refused
        finished = await running
    assert not finished.is_error
    assert finished.structured_content["usage"]["completion_tokens"] == 200
