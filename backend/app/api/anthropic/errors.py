"""Anthropic's error envelope, ``{"type": "error", "error": {"type", "message"}}``, for the
``/v1/messages`` routes only (the rest of ``/v1`` keeps OpenAI's).

The routes use :class:`AnthropicRoute`, which renders any :class:`AppError` or validation error
raised while handling them; middleware (auth, body size) renders through
:func:`anthropic_response` when :func:`is_anthropic_path` says the request is one of ours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.core.errors import AppError

log = logging.getLogger(__name__)

PREFIX = "/v1/messages"

# Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors).
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def is_anthropic_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def anthropic_status(exc: AppError) -> int:
    """Anthropic's status for one of our errors: its own codes, every 5xx as 500."""
    if exc.status_code in _TYPES:
        return exc.status_code
    if exc.status_code >= 500:
        return 500
    return 400 if exc.status_code == 422 else exc.status_code


def anthropic_body(exc: AppError) -> dict:
    status = anthropic_status(exc)
    return {
        "type": "error",
        "error": {"type": _TYPES.get(status, "invalid_request_error"), "message": exc.message},
    }


def anthropic_response(exc: AppError) -> JSONResponse:
    return JSONResponse(anthropic_body(exc), status_code=anthropic_status(exc), headers=exc.headers)


def _validation_text(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "Invalid request."
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "missing" and loc:
        return f"{'.'.join(loc)}: Field required"
    message = str(first.get("msg", "Invalid value")).removeprefix("Value error, ")
    return f"{'.'.join(loc)}: {message}" if loc else message


class AnthropicRoute(APIRoute):
    """An APIRoute whose errors leave in Anthropic's envelope instead of OpenAI's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                return anthropic_response(exc)
            except RequestValidationError as exc:
                body = {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": _validation_text(exc)},
                }
                return JSONResponse(body, status_code=400)
            except HTTPException as exc:  # e.g. FastAPI's "error parsing the body" (400)
                status = exc.status_code if exc.status_code in _TYPES else 400
                body = {
                    "type": "error",
                    "error": {"type": _TYPES[status], "message": str(exc.detail)},
                }
                return JSONResponse(body, status_code=status, headers=exc.headers)
            except Exception:
                log.exception("unhandled error on %s", request.url.path)
                body = {
                    "type": "error",
                    "error": {"type": "api_error", "message": "Internal server error."},
                }
                return JSONResponse(body, status_code=500)

        return route
