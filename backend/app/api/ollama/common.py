"""Helpers shared by the Ollama-compatible routes: Ollama's error shape and NDJSON streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from fastapi.responses import JSONResponse, StreamingResponse

from app.core.errors import AppError

P = ParamSpec("P")
R = TypeVar("R")


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
    return JSONResponse({"error": exc.message}, status_code=exc.status_code, headers=exc.headers)


def line(data: Any) -> str:
    if hasattr(data, "model_dump"):
        data = data.model_dump(exclude_none=True)
    return json.dumps(data, separators=(",", ":")) + "\n"


def ndjson(lines: AsyncIterator[str]) -> StreamingResponse:
    # Starlette cancels ``lines`` when the client disconnects; the generation service turns
    # that into a cancel of the engine.
    return StreamingResponse(lines, media_type="application/x-ndjson")
