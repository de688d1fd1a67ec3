"""Authentication and per-key rate limiting for every route, as one ASGI middleware.

Being middleware (not a per-route dependency) it covers routes other areas add later, the
OpenAI ``/v1`` and Ollama ``/api/*`` routes, SSE streams, ``/metrics`` and the MCP server at
``/mcp`` alike. Open without a
key: health, auth status and login, the API docs, and the UI's static files.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers, QueryParams
from starlette.types import Receive, Scope, Send

from app.api.middleware import HttpMiddleware, error_response
from app.api.route_index import route_index
from app.core.errors import AppError, Unauthorized
from app.core.request_context import identity_var
from app.services import metrics

PUBLIC_PATHS = frozenset(
    {
        "/api/v1/health",
        "/api/v1/auth/status",
        "/api/v1/auth/login",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)
_PROTECTED_PREFIXES = ("/api/", "/v1/", "/metrics", "/mcp/")
# /mcp: the MCP server (Streamable HTTP), a mounted ASGI app outside the documented routes.
_PROTECTED_EXACT = ("/api", "/v1", "/mcp")
# GET routes serving server-sent events end so (download and ingestion progress).
EVENT_STREAM_SUFFIX = "/events"


def needs_auth(scope: Scope) -> bool:
    """Everything under the API prefixes, plus any documented route elsewhere; not the UI."""
    path = scope["path"]
    if path in PUBLIC_PATHS:
        return False
    if path.startswith(_PROTECTED_PREFIXES) or path in _PROTECTED_EXACT:
        return True
    index = route_index(scope)
    route = index.match(scope) if index is not None else None
    return route is not None and route.in_schema


def credential_from(scope: Scope) -> str | None:
    """The bearer token (or ``x-api-key``) of the request; for GET event streams (EventSource
    cannot send headers) also an ``access_token`` query parameter, and only there: a token in
    a URL ends up in browser history and proxy logs, so no other route takes one."""
    headers = Headers(scope=scope)
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # Anthropic's SDKs send the key as x-api-key.
    if key := headers.get("x-api-key", "").strip():
        return key
    if scope["method"] == "GET" and scope["path"].endswith(EVENT_STREAM_SUFFIX):
        query_token = QueryParams(scope.get("query_string", b"")).get("access_token")
        if query_token:
            return query_token
    return None


class AuthMiddleware(HttpMiddleware):
    """Checks the credential when auth is on, records the principal on ``request.state``,
    and applies the per-identity request rate limit."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        auth = getattr(state, "auth", None)
        try:
            if auth is not None and auth.enabled and needs_auth(scope):
                credential = credential_from(scope)
                if credential is None:
                    raise Unauthorized(
                        "You didn't provide an API key. Send it as 'Authorization: Bearer "
                        "<key>' (create one with `playground keys create`)."
                    )
                # SQLite lookup (and an occasional last-used write): off the event loop.
                principal = await asyncio.to_thread(auth.authenticate, credential)
                scope.setdefault("state", {})["principal"] = principal
                identity_var.set(f"key:{principal.key_id}")
            limiter = getattr(state, "rate_limiter", None)
            if limiter is not None and needs_auth(scope):
                await limiter.acquire(identity_var.get() or "anonymous")
        except AppError as exc:
            if isinstance(exc, Unauthorized):
                metrics.AUTH_FAILURES.inc()
            await error_response(exc, scope)(scope, receive, send)
            return
        await self.app(scope, receive, send)
