"""The official MCP client against ``playground mcp``: the real command in a child process,
spoken to over its stdin and stdout as an MCP host does."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.helpers.server import REPO_ROOT, tiny_env
from tests.mcp_server.conftest import McpApp
from tests.mcp_server.tools import check_tools


@pytest.fixture
def errlog(mcp_app: McpApp) -> Iterator[TextIO]:
    with open(mcp_app.data_dir / "mcp-stdio.log", "a") as log:
        yield log


def _params(app: McpApp, **extra: str) -> StdioServerParameters:
    # A host passes only the variables it is told to (the SDK keeps PATH, HOME and a few more).
    env = {
        **tiny_env(app.models_dir, app.data_dir, **extra),
        "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO_ROOT / "backend")),
        "HF_HUB_OFFLINE": "1",
        "MP_LOG_FORMAT": "text",
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "app.cli", "mcp"], env=env, cwd=REPO_ROOT
    )


async def test_tools_over_stdio(mcp_app: McpApp, errlog: TextIO) -> None:
    """The same tools on the same folders as the running server (its knowledge base included);
    API keys are for network clients, and a process the user starts is not one, so the
    server's auth setting does not stop it. Its logs go to stderr, never into the protocol."""
    params = _params(mcp_app, MP_AUTH_ENABLED="true")
    async with Client(stdio_client(params, errlog=errlog)) as client:
        await check_tools(client)
    log = Path(errlog.name).read_text()
    assert "mcp (no HTTP)" in log, log[-2000:]
