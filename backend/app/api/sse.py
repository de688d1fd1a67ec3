"""Server-sent-event helpers shared by the streaming routes (native, OpenAI, compare, RAG)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from sse_starlette import EventSourceResponse, ServerSentEvent

from app.core.errors import AppError
from app.schemas.generation import TokenDelta
from app.services.generation import GenerationOutcome, GenerationService, PreparedGeneration


def event(data: Any, name: str | None = None, id: str | None = None) -> ServerSentEvent:
    """One SSE event with a compact JSON payload (pydantic models or plain data) and, for a
    resumable stream, its ``id`` (what a client sends back as ``Last-Event-ID``)."""
    if hasattr(data, "model_dump_json"):
        payload = data.model_dump_json(exclude_none=False)
    elif isinstance(data, str):
        payload = data
    else:
        payload = json.dumps(data, separators=(",", ":"))
    return ServerSentEvent(data=payload, event=name, id=id)


def error_event(exc: AppError, name: str | None = None) -> ServerSentEvent:
    """The error envelope as a stream's last event (status is already 200 by then)."""
    return event(exc.to_body(), name)


def sse_response(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    # sse-starlette cancels ``events`` when the client disconnects; the generation service
    # turns that into a cancel of the engine thread.
    return EventSourceResponse(events, ping=15, send_timeout=30)


async def generation_events(
    generation: GenerationService,
    job: PreparedGeneration,
    done: Callable[[GenerationOutcome], Any],
    shown: TextFilter | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """A generation as native SSE: a ``token`` event ({text}) per step, then ``done`` with
    ``done(outcome)`` or ``error`` with the envelope. ``shown`` rewrites the streamed text
    (the outcome keeps the raw text), e.g. to drop citation markers the final answer drops."""
    outcome = GenerationOutcome(job)
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            text = shown.feed(item.text) if shown is not None and item.text else item.text
            if text:
                yield event(TokenDelta(text=text), "token")
    except AppError as exc:
        yield error_event(exc, "error")
        return
    if shown is not None and (rest := shown.flush()):
        yield event(TokenDelta(text=rest), "token")
    yield event(done(outcome), "done")


class TextFilter(Protocol):
    """Rewrites a stream of text pieces; ``flush`` returns what it still holds at the end."""

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...
