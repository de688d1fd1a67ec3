"""``/mcp``: the MCP server on the app's own HTTP port (Streamable HTTP, stateless).

The route sits inside the app's middleware, so ``/mcp`` gets what every API route gets: the
API key check when auth is on (401 without one, ``api/security.py``), the per-key rate limit,
the Host check and request logs. Stateless, with JSON answers: each POST is a whole exchange,
so any replica behind a load balancer can answer it and no session outlives a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from app.api.browser_guard import LOCAL_HOSTS, host_name
from app.api.mcp_server.tools import build_mcp_server
from app.core.config import Settings

MCP_PATH = "/mcp"


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding check, allowing the host names the app's own Host check allows
    (localhost, 127.0.0.1, [::1], the bind address, ``MP_ALLOWED_HOSTS``) on any port, and
    Origins of those names plus ``MP_CORS_ORIGINS``: a web page elsewhere cannot drive the
    user's models through a browser-based MCP client."""
    if "*" in settings.allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = set(LOCAL_HOSTS) | {host_name(h) for h in settings.allowed_hosts}
    if settings.host not in ("0.0.0.0", "::", ""):
        names.add(host_name(settings.host))
    # A Host header writes an IPv6 address in brackets.
    hosts = sorted(f"[{name}]" if ":" in name else name for name in names)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{host}:*" for host in hosts)],
        allowed_origins=[
            *(
                f"{scheme}://{host}{port}"
                for scheme in ("http", "https")
                for host in hosts
                for port in ("", ":*")
            ),
            *(origin.rstrip("/") for origin in settings.cors_origins),
        ],
    )


def mount_mcp(app: FastAPI, settings: Settings) -> MCPServer[Any]:
    """Add ``/mcp`` to ``app``; the app's lifespan must hold :func:`serving` open."""
    server = build_mcp_server(app.state)
    http_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_body_bytes,
        transport_security=transport_security(settings),
    )
    # Its endpoint only (no middleware without the SDK's own auth), not the Starlette app
    # around it: mounted, /mcp would redirect to /mcp/. Its methods are named so the route
    # index (metrics labels, the route-by-route auth tests) sees them; the SDK answers 405
    # to the GET stream and DELETE that a stateless server does not offer.
    endpoint = next(r.endpoint for r in http_app.routes if isinstance(r, Route))
    app.router.routes.append(
        Route(MCP_PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    )
    return server


@asynccontextmanager
async def serving(server: MCPServer[Any]) -> AsyncIterator[None]:
    """The SDK's session manager running (``/mcp`` requests run in its task group) while the
    context is open. In a task of its own: its task group must be entered and left in one
    task, and an app's lifespan may start in one and end in another (an ASGI test harness's
    fixtures do)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with server.session_manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run(), name="mcp-sessions")
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # it could not start: its error, here
    try:
        yield
    finally:
        stop.set()
        await task
