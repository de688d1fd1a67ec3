"""MCP servers (``/api/v1/mcp/servers``): the ``mcp.json`` entries, what each offers, a
connection test, and decisions on tool calls that wait for approval."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.api.deps import AgentDep, AuthDep, McpDep, SettingsDep
from app.core.errors import Forbidden
from app.core.request_context import current_identity
from app.schemas.common import error_responses
from app.schemas.mcp import (
    ApprovalDecision,
    McpPromptView,
    McpResourceView,
    McpServerStatus,
    McpServerTools,
    McpServerView,
    McpToolView,
)
from app.services.mcp.config import McpServerConfig, check_name, merge_secrets, redacted
from app.services.mcp.connection import McpConnection

router = APIRouter(prefix="/mcp", tags=["mcp"])


def require_config_admin(request: Request, auth: AuthDep) -> None:
    """A stdio server runs a local command, so with auth on only admin keys may edit or test
    servers; with auth off only callers on this machine may (the local user is the admin; the
    browser guard keeps web pages out, as for every other state-changing route)."""
    if not auth.enabled:
        host = request.client.host if request.client else ""
        if host not in ("127.0.0.1", "::1"):
            raise Forbidden(
                "With auth off, MCP servers can be edited only from this machine (a server may "
                "run a local command); turn auth on (MP_AUTH_ENABLED=true) and use an admin key."
            )
        return
    principal = getattr(request.state, "principal", None)
    if principal is None or not principal.admin:
        raise Forbidden(
            "Editing MCP servers needs an admin key (`playground keys create --admin`): a "
            "server may run a local command."
        )


ConfigAdmin = Annotated[None, Depends(require_config_admin)]


def _view(name: str, config: McpServerConfig, hub: McpDep) -> McpServerView:
    return McpServerView(
        **redacted(config).model_dump(),
        name=name,
        transport=config.transport,
        status=McpServerStatus(**hub.status(name)),
    )


async def _listing(name: str, conn: McpConnection, config: McpServerConfig) -> McpServerTools:
    started = time.perf_counter()
    tools = await conn.tools(refresh=True)

    async def extras(client):  # resources and prompts are optional capabilities
        caps = client.server_capabilities
        resources = (await client.list_resources()).resources if caps.resources else []
        prompts = (await client.list_prompts()).prompts if caps.prompts else []
        return resources, prompts

    resources, prompts = await conn.call(extras)
    return McpServerTools(
        server=name,
        tools=[
            McpToolView(
                name=t.name,
                description=t.description,
                input_schema=t.input_schema,
                allowed=config.offers(t.name),
            )
            for t in tools
        ],
        resources=[
            McpResourceView(
                uri=str(r.uri), name=r.name, description=r.description, mime_type=r.mime_type
            )
            for r in resources
        ],
        prompts=[
            McpPromptView(
                name=p.name,
                description=p.description,
                arguments=[a.name for a in p.arguments or []],
            )
            for p in prompts
        ],
        duration_ms=(time.perf_counter() - started) * 1000,
    )


@router.get("/servers", response_model=list[McpServerView])
async def list_servers(hub: McpDep) -> list[McpServerView]:
    """The servers of mcp.json, secrets redacted, with their connection status."""
    return [_view(n, c, hub) for n, c in hub.servers().items()]


@router.put(
    "/servers/{name}",
    response_model=McpServerView,
    responses=error_responses(400, 403),
)
async def put_server(
    name: str, body: McpServerConfig, hub: McpDep, _: ConfigAdmin
) -> McpServerView:
    """Add or replace a server. Values sent back as the redaction marker keep their stored
    secret, so a redacted view can be edited and saved."""
    saved = await hub.put(name, body)
    return _view(name, saved, hub)


@router.delete("/servers/{name}", status_code=204, responses=error_responses(403, 404))
async def delete_server(name: str, hub: McpDep, _: ConfigAdmin) -> Response:
    """Remove a server (its connection is closed)."""
    await hub.delete(name)
    return Response(status_code=204)


@router.get(
    "/servers/{name}/tools",
    response_model=McpServerTools,
    responses=error_responses(404, 424),
)
async def server_tools(name: str, hub: McpDep) -> McpServerTools:
    """Connect (if needed) and list the server's tools, resources and prompts."""
    config = hub.server(name)
    return await _listing(name, hub.connection(name, config), config)


@router.post(
    "/test",
    response_model=McpServerTools,
    responses=error_responses(400, 403, 424),
)
async def test_server(
    body: McpServerConfig,
    hub: McpDep,
    settings: SettingsDep,
    _: ConfigAdmin,
    name: Annotated[str, Query(description="Name to show in errors.")] = "test",
) -> McpServerTools:
    """Connect to a server that is not saved yet and list what it offers (Settings' "Test")."""
    check_name(name)
    body = merge_secrets(body, hub.servers().get(name))
    conn = McpConnection(
        name,
        body,
        connect_timeout=settings.mcp_connect_timeout_s,
        call_timeout=settings.mcp_call_timeout_s,
        allow_private=settings.mcp_allow_private_urls,
    )
    try:
        return await _listing(name, conn, body)
    finally:
        await conn.close()


@router.post("/approvals/{approval_id}", status_code=204, responses=error_responses(403, 404))
async def decide_approval(approval_id: str, body: ApprovalDecision, agent: AgentDep) -> Response:
    """Approve or deny a tool call a chat is waiting on (its ``approval_request`` event)."""
    agent.approvals.decide(approval_id, body.approve, current_identity())
    return Response(status_code=204)
