"""ASGI middleware around every request: request id, access log and HTTP metrics, and the
request-body size limit. Pure ASGI (not BaseHTTPMiddleware) so streams pass through untouched
and client disconnects reach the routes."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.route_index import route_index
from app.core.errors import AppError, GenerationFailed, PayloadTooLarge
from app.core.request_context import identity_var, request_id_from, request_id_var
from app.services import metrics

access_log = logging.getLogger("app.access")
error_log = logging.getLogger("app.api.errors")
_INTERNAL = GenerationFailed("Internal server error.", code="internal_error")


def route_template(scope: Scope) -> str:
    """The path template of the route serving ``scope`` (bounded label values for metrics)."""
    index = route_index(scope)
    route = index.match(scope) if index is not None else None
    return route.path if route is not None else "unmatched"


def error_response(exc: AppError, scope: Scope | None = None) -> JSONResponse:
    """An AppError rendered outside the app's exception handlers (i.e. in middleware), in the
    envelope of the API ``scope`` addresses (Anthropic's on /v1/messages, Ollama's on its
    routes, else OpenAI's)."""
    from app.api.anthropic.errors import anthropic_response, is_anthropic_path
    from app.api.ollama.common import error_response as ollama_response
    from app.api.ollama.common import is_ollama_path

    if scope is not None and is_anthropic_path(scope.get("path", "")):
        return anthropic_response(exc)
    if scope is not None and is_ollama_path(scope.get("path", "")):
        return ollama_response(exc)
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=exc.headers)


class HttpMiddleware:
    """Pure ASGI middleware that acts on HTTP requests; lifespan and websocket scopes pass
    through untouched. Subclasses write :meth:`handle`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request; call ``self.app`` to pass it on."""
        raise NotImplementedError


class RequestContextMiddleware(HttpMiddleware):
    """Gives each request an id (the client's ``X-Request-ID`` or a new one), returns it in the
    response header, logs one structured access line and records the HTTP metrics."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        request_id = request_id_from(headers.get("x-request-id"))
        request_id_var.set(request_id)
        client = scope.get("client")
        identity_var.set(f"ip:{client[0]}" if client else None)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                raw = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                raw.append((b"x-request-id", request_id.encode()))
                message["headers"] = raw
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Handled here rather than by Starlette's outermost error middleware so the log
            # line and the 500 answer still carry the request id.
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:
                raise
            await error_response(_INTERNAL)(scope, receive, send_with_id)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, route).observe(elapsed)
            # Query strings are left out of the log on purpose: they may carry access tokens.
            access_log.info(
                "%s %s %d",
                method,
                scope["path"],
                status,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": client[0] if client else None,
                    "identity": identity_var.get(),
                },
            )
            # The context vars are not reset: uvicorn runs each request in its own task (its own
            # context), and an error logged after this point should still name the request.


class BodyLimitMiddleware(HttpMiddleware):
    """Refuses bodies over the limit before reading them: at once when Content-Length says so,
    else as soon as the bytes received pass it. Multipart uploads get the upload limit."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        super().__init__(app)
        self.max_body = max_body
        self.max_upload = max_upload

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").startswith("multipart/")
        limit = self.max_upload if multipart else self.max_body
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server rejects a malformed length itself
            if too_big:
                await error_response(self._error(limit), scope)(scope, receive, send)
                return
        received = 0
        refused = False
        response_started = False

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # our 413 went out; whatever the app answers now is dropped
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not response_started:
                    # Answer 413 now and tell the app the client left, so it stops reading;
                    # raising instead would be turned into a generic 400 by body parsing.
                    refused = True
                    await error_response(self._error(limit), scope)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    def _error(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body is larger than this server accepts ({limit} bytes).",
            param="body",
        )
