"""Helpers shared by the Ollama-compatible routes: Ollama's error shape and NDJSON streams.

Every error on these routes leaves as Ollama's ``{"error": "message"}`` with the HTTP status:
the app's one set of handlers (``api/errors.py``: typed, validation and HTTP errors) and the
middleware render it so wherever :func:`is_ollama_path`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import JSONResponse, StreamingResponse

from app.core.errors import AppError

PREFIX = "/api"
NATIVE_PREFIX = "/api/v1"  # our own API shares the prefix; it keeps the OpenAI envelope


def is_native_path(path: str) -> bool:
    """Whether ``path`` is in our own API (``/api/v1``), which shares Ollama's prefix."""
    return path == NATIVE_PREFIX or path.startswith(NATIVE_PREFIX + "/")


def is_ollama_path(path: str) -> bool:
    """Whether ``path`` is one of Ollama's routes (``/api/...`` outside ``/api/v1``)."""
    return path.startswith(PREFIX + "/") and not is_native_path(path)


def error_response(exc: AppError) -> JSONResponse:
    """A typed error in Ollama's body."""
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
