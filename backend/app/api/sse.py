"""Server-sent-event helpers shared by the native and OpenAI streaming routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from app.core.errors import AppError


def event(data: Any, name: str | None = None) -> ServerSentEvent:
    """One SSE event with a compact JSON payload (pydantic models or plain data)."""
    if hasattr(data, "model_dump_json"):
        payload = data.model_dump_json(exclude_none=False)
    elif isinstance(data, str):
        payload = data
    else:
        payload = json.dumps(data, separators=(",", ":"))
    return ServerSentEvent(data=payload, event=name)


def error_event(exc: AppError, name: str | None = None) -> ServerSentEvent:
    """The error envelope as a stream's last event (status is already 200 by then)."""
    return event(exc.to_body(), name)


def sse_response(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    # sse-starlette cancels ``events`` when the client disconnects; the generation service
    # turns that into a cancel of the engine thread.
    return EventSourceResponse(events, ping=15, send_timeout=30)
