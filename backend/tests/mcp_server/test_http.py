"""The official MCP client against ``/mcp`` of a real server (Streamable HTTP over a socket)."""

from __future__ import annotations

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.mcp_server.conftest import McpApp
from tests.mcp_server.tools import check_tools

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
