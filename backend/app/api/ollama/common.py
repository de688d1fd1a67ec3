"""Helpers shared by the Ollama-compatible routes: Ollama's error shape and NDJSON streams.

Every error on these routes leaves as Ollama's ``{"error": "message"}`` with the HTTP status:
the routes' own (:func:`ollama_errors`), and request-validation and HTTP errors, which the app's
one handler (``api/errors.py``) and the middleware render this way when :func:`is_ollama_path`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from fastapi.responses import JSONResponse, StreamingResponse

from app.core.errors import AppError

P = ParamSpec("P")
R = TypeVar("R")

PREFIX = "/api"
NATIVE_PREFIX = "/api/v1"  # our own API shares the prefix; it keeps the OpenAI envelope


def is_ollama_path(path: str) -> bool:
    """Whether ``path`` is one of Ollama's routes (``/api/...`` outside ``/api/v1``)."""
    native = path == NATIVE_PREFIX or path.startswith(NATIVE_PREFIX + "/")
    return path.startswith(PREFIX + "/") and not native


def ollama_errors(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | JSONResponse]]:
    """Render our typed errors as Ollama does: ``{"error": "message"}`` with the status."""

    @wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | JSONResponse:
        try:
            return await handler(*args, **kwargs)
        except AppError as exc:
            return error_response(exc)

    return wrapper


def error_response(exc: AppError) -> JSONResponse:
    return ollama_error(exc.status_code, exc.message, exc.headers)


def ollama_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Ollama's error body, ``{"error": message}``, with ``status``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def line(data: Any) -> str:
    if hasattr(data, "model_dump"):
        data = data.model_dump(exclude_none=True)
    return json.dumps(data, separators=(",", ":")) + "\n"


def ndjson(lines: AsyncIterator[str]) -> StreamingResponse:
    # Starlette cancels ``lines`` when the client disconnects; the generation service turns
    # that into a cancel of the engine.
    return StreamingResponse(lines, media_type="application/x-ndjson")
