"""The official MCP client against ``playground mcp``: the real command in a child process,
spoken to over its stdin and stdout as an MCP host does."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.helpers.server import REPO_ROOT, tiny_env
from tests.mcp_server.conftest import KNOWLEDGE_BASE, McpApp
from tests.mcp_server.tools import call, check_tools
from tests.rag.client import ingest

WATER = (
    "Annual report of the water board. The Brightwater dam supplies drinking water to two "
    "million residents; its reservoir was last expanded in 2009.\n"
)


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


async def test_beside_a_server_on_the_same_folders(mcp_app: McpApp, errlog: TextIO) -> None:
    """A host may start `playground mcp` while `playground serve` runs on the same folders. It
    must not take the server's work in progress for a crash's leftovers (an upload being
    stored, an evaluation's scratch index), and it must see documents the server adds after it
    started, in the lexical index too."""
    rag = mcp_app.data_dir / "rag"
    uploading = rag / "files" / "upload-being-stored.md"
    scratch = rag / "eval-tmp" / "evaluation-running" / "index.bin"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    uploading.write_bytes(b"# half written")
    scratch.write_bytes(b"index")
    try:
        async with Client(stdio_client(_params(mcp_app), errlog=errlog)) as client:
            before = await call(
                client,
                "rag_search",
                {
                    "knowledge_base": KNOWLEDGE_BASE,
                    "query": "Brightwater dam reservoir",
                    "mode": "lexical",
                },
            )
            assert all("Brightwater" not in c["text"] for c in before["chunks"])
            with httpx.Client(
                base_url=mcp_app.server.url, headers=mcp_app.auth, timeout=300
            ) as http:
                ingest(http, KNOWLEDGE_BASE, [("water.txt", WATER.encode(), "text/plain")])
            after = await call(
                client,
                "rag_search",
                {
                    "knowledge_base": KNOWLEDGE_BASE,
                    "query": "Brightwater dam reservoir",
                    "mode": "lexical",
                },
            )
            assert "Brightwater" in after["chunks"][0]["text"]
        assert uploading.exists() and scratch.exists()
    finally:
        uploading.unlink(missing_ok=True)
        scratch.unlink(missing_ok=True)
