"""One server with auth on (tiny model, a small knowledge base, a user key) shared by the MCP
server tests: the HTTP tests reach its ``/mcp``; the stdio tests start ``playground mcp`` on
its folders, as an MCP host on the same machine would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess, tiny_server
from tests.rag.client import create_collection, ingest
from tests.security.conftest import cli_create_key

KNOWLEDGE_BASE = "field-notes"
NOTES = (
    "# Field notes\n\n## Lighthouse\n\nThe lighthouse on Kelvar Island was built in 1874 by "
    "the engineer Mara Olsen.\n\n## Orchard\n\nThe Quartz Valley orchard grows a rare blue "
    "apple variety called Azurine.\n"
)


@dataclass
class McpApp:
    """The running server, its folders and a (non-admin) API key."""

    server: ServerProcess
    models_dir: Path
    data_dir: Path
    key: str

    @property
    def mcp_url(self) -> str:
        return f"{self.server.url}/mcp"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="package")
def mcp_app(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[McpApp]:
    data = tmp_path_factory.mktemp("mcp-data")
    _, key = cli_create_key(data, "mcp-host")
    server = tiny_server(models_dir, data, MP_AUTH_ENABLED="true").start()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        create_collection(client, KNOWLEDGE_BASE)
        ingest(client, KNOWLEDGE_BASE, [("notes.md", NOTES.encode(), "text/markdown")])
    yield McpApp(server, models_dir, data, key)
    server.stop()
