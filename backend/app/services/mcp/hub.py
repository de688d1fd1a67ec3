"""The MCP servers this playground knows: ``mcp.json`` plus one lazy connection per server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.core.config import McpSettings
from app.core.errors import InvalidRequest, NotFound
from app.services.mcp.config import (
    McpConfigFile,
    McpServerConfig,
    check_name,
    merge_secrets,
)
from app.services.mcp.connection import McpConnection, McpTool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfferedTool:
    """A tool as a model sees it: ``name`` is unique across the chosen servers (the server's
    own name, or ``server__tool`` where two servers use one name)."""

    name: str
    tool: McpTool
    approval: Literal["auto", "ask"]
    conn: McpConnection


class McpHub:
    """Reads and edits ``mcp.json``, owns the connections, and lists what chats may use."""

    def __init__(self, settings: McpSettings) -> None:
        self.settings = settings
        self.file = McpConfigFile(settings.mcp_config_path)
        self._connections: dict[str, McpConnection] = {}
        self._edit = asyncio.Lock()

    # -- configuration ------------------------------------------------------------------

    def servers(self) -> dict[str, McpServerConfig]:
        """The configured servers (read from the file each time: a hand edit counts)."""
        return self.file.load()

    def server(self, name: str) -> McpServerConfig:
        servers = self.servers()
        if name not in servers:
            raise NotFound(f"MCP server '{name}' is not configured", code="mcp_server_not_found")
        return servers[name]

    async def put(self, name: str, config: McpServerConfig) -> McpServerConfig:
        """Add or replace server ``name`` (secrets sent back redacted keep their values); its
        old connection is closed so the next call uses the new settings."""
        check_name(name)
        async with self._edit:
            servers = self.servers()
            servers[name] = merge_secrets(config, servers.get(name))
            await asyncio.to_thread(self.file.save, servers)
            await self._drop(name)
            return servers[name]

    async def delete(self, name: str) -> None:
        async with self._edit:
            servers = self.servers()
            if name not in servers:
                raise NotFound(
                    f"MCP server '{name}' is not configured", code="mcp_server_not_found"
                )
            del servers[name]
            await asyncio.to_thread(self.file.save, servers)
            await self._drop(name)

    # -- connections --------------------------------------------------------------------

    def connection(self, name: str, config: McpServerConfig | None = None) -> McpConnection:
        """The (lazy) connection to ``name``; a changed configuration gets a new one."""
        config = config or self.server(name)
        current = self._connections.get(name)
        if current is not None and current.config == config:
            return current
        if current is not None:
            asyncio.ensure_future(current.close())
        fresh = McpConnection(
            name,
            config,
            connect_timeout=self.settings.mcp_connect_timeout_s,
            call_timeout=self.settings.mcp_call_timeout_s,
            allow_private=self.settings.mcp_allow_private_urls,
        )
        self._connections[name] = fresh
        return fresh

    def status(self, name: str) -> dict[str, Any]:
        """Whether ``name`` is connected now, and the last connection error."""
        conn = self._connections.get(name)
        return {
            "connected": bool(conn and conn.connected),
            "last_error": conn.last_error if conn else None,
        }

    async def _drop(self, name: str) -> None:
        conn = self._connections.pop(name, None)
        if conn is not None:
            await conn.close()

    async def shutdown(self) -> None:
        """Close every connection (stdio servers' processes stop)."""
        await asyncio.gather(*(c.close() for c in self._connections.values()))
        self._connections.clear()

    # -- what a chat may use ------------------------------------------------------------

    def chosen(self, names: Sequence[str] | Literal["all"]) -> dict[str, McpServerConfig]:
        """The enabled servers a request names (``"all"``: every enabled one); an unknown or
        disabled name is a 400 that says which."""
        servers = self.servers()
        if names == "all":
            return {n: c for n, c in servers.items() if not c.disabled}
        out = {}
        for name in names:
            if name not in servers:
                raise InvalidRequest(
                    f"MCP server '{name}' is not configured (configured: "
                    f"{', '.join(sorted(servers)) or 'none'})",
                    param="mcp_servers",
                    code="mcp_server_not_found",
                )
            if servers[name].disabled:
                raise InvalidRequest(
                    f"MCP server '{name}' is disabled", param="mcp_servers", code="mcp_disabled"
                )
            out[name] = servers[name]
        return out

    async def offered(self, servers: dict[str, McpServerConfig]) -> list[OfferedTool]:
        """Every allowed tool of ``servers`` (listed in parallel), named uniquely."""
        conns = {n: self.connection(n, c) for n, c in servers.items()}
        listings = await asyncio.gather(*(conn.tools() for conn in conns.values()))
        tools = [
            (t, servers[t.server].approval)
            for listing in listings
            for t in listing
            if servers[t.server].offers(t.name)
        ]
        return offer(tools, conns)


def offer(
    tools: list[tuple[McpTool, Literal["auto", "ask"]]], conns: dict[str, McpConnection]
) -> list[OfferedTool]:
    """``tools`` (with their approval policy) as offered to a model: each named by its own
    name, or ``server__tool`` where two servers use one name."""
    counts: dict[str, int] = {}
    for t, _ in tools:
        counts[t.name] = counts.get(t.name, 0) + 1
    return [
        OfferedTool(
            t.name if counts[t.name] == 1 else f"{t.server}__{t.name}",
            t,
            approval,
            conns[t.server],
        )
        for t, approval in tools
    ]
