"""A server whose chats may use MCP tools: the tiny model (Transformers) and the bundled
SmolLM2 GGUF (llama.cpp), loopback MCP servers allowed, short call timeouts; and the test MCP
server (``fixture_server.py``) over stdio and over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess, free_port, tiny_server
from tests.tools.conftest import tools_models_dir  # noqa: F401

FIXTURE = Path(__file__).with_name("fixture_server.py")


def stdio_config(*extra: str, **options: object) -> dict[str, object]:
    """An mcp.json entry that starts the test server over stdio."""
    return {"command": sys.executable, "args": [str(FIXTURE), *extra], **options}


@pytest.fixture(scope="session")
def mcp_server(
    tmp_path_factory: pytest.TempPathFactory,
    tools_models_dir: Path,  # noqa: F811
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("mcp-data")
    proc = tiny_server(
        tools_models_dir,
        data,
        MP_MAX_LOADED_MODELS="4",
        MP_MCP_ALLOW_PRIVATE_URLS="true",
        MP_MCP_CALL_TIMEOUT_S="4",
        MP_MCP_APPROVAL_TIMEOUT_S="30",
    ).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def http_mcp() -> Iterator[str]:
    """The test MCP server over Streamable HTTP on 127.0.0.1: its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)
