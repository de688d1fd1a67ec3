"""Defences against web pages in the user's browser: DNS rebinding and cross-site requests.

With auth off (the default) any page the user opens can send requests to 127.0.0.1. Two checks
in one ASGI middleware, so every route is covered, including routes added later:

- **Host check** (against DNS rebinding: a page whose own name was re-pointed at 127.0.0.1 is
  same-origin for the browser, but its requests carry ``Host: evil.example``): the Host header
  must name localhost, 127.0.0.1, [::1], the bind address or one of ``MP_ALLOWED_HOSTS``.
- **Cross-site check** (CSRF): a browser sends a cross-origin request without a CORS preflight
  only when it is "simple": no custom header, and a form or text content type. So a
  state-changing request (POST, PUT, PATCH, DELETE) is let through when its content type is
  JSON, or it carries ``X-Requested-With`` (the UI sends it on uploads), or its ``Origin`` is
  this server or one of ``MP_CORS_ORIGINS``, or it has no Origin and no cross-site
  ``Sec-Fetch-Site`` (curl and SDKs send neither). Anything else is refused with 403.

Hand-written rather than Starlette's ``TrustedHostMiddleware``: that one answers a plain-text
400, and the error envelope of the API is wanted here; the CSRF half has no library equivalent
for an API that takes bearer tokens and multipart uploads without cookies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.middleware import HttpMiddleware, error_response
from app.core.errors import AppError, Forbidden, InvalidRequest

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "x-requested-with"
HEALTH_PATH = "/api/v1/health"


def host_name(host_header: str) -> str:
    """The name part of a Host header: without port, brackets or a trailing dot, lower case."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BrowserGuardMiddleware(HttpMiddleware):
    """Refuses requests for foreign host names (400) and cross-site state changes (403)."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: list[str], bind_host: str, cors_origins: list[str]
    ) -> None:
        super().__init__(app)
        self.any_host = "*" in allowed_hosts
        names = {host_name(h) for h in allowed_hosts} | set(LOCAL_HOSTS)
        if bind_host not in ("0.0.0.0", "::", ""):
            names.add(host_name(bind_host))
        self.allowed = frozenset(names)
        self.origins = frozenset(o.rstrip("/").lower() for o in cors_origins)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        # Health is exempt: orchestrator probes address the pod by IP, and it holds no data.
        if (
            not self.any_host
            and scope["path"] != HEALTH_PATH
            and host_name(host) not in self.allowed
        ):
            error: AppError = InvalidRequest(
                "This server does not answer for that host name. Reach it as localhost or "
                "127.0.0.1, or add the name to MP_ALLOWED_HOSTS.",
                code="invalid_host",
            )
            await error_response(error)(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS and not self._may_change(headers, host):
            error = Forbidden(
                "Cross-site request refused: send a JSON body (Content-Type: application/json) "
                "or the X-Requested-With header, or call from an origin in MP_CORS_ORIGINS.",
                code="cross_site_request",
            )
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _may_change(self, headers: Headers, host: str) -> bool:
        if _is_json(headers.get("content-type", "")) or CSRF_HEADER in headers:
            return True  # a browser sends either cross-origin only after a CORS preflight
        origin = headers.get("origin")
        if origin is None:
            # Not a browser (curl, SDKs), or a same-origin navigation; a browser that sends
            # Sec-Fetch-Site tells us when it is not.
            return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
        origin = origin.rstrip("/").lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == host.strip().lower()
