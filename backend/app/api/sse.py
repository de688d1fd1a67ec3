"""Server-sent-event helpers shared by the streaming routes (native, OpenAI, compare, RAG)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sse_starlette import EventSourceResponse, ServerSentEvent

from app.core.errors import AppError
from app.schemas.common import described_responses
from app.schemas.generation import TokenDelta
from app.services.generation import GenerationOutcome
from app.services.generation.answering import Answer, Step
from app.services.jobs.service import JobService


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


async def progress_events(views: AsyncIterator[Any]) -> AsyncIterator[ServerSentEvent]:
    """A background job's states as ``progress`` events; an error (the job deleted while
    watched) as a last ``error`` event in the native envelope."""
    try:
        async for view in views:
            yield event(view, "progress")
    except AppError as exc:
        yield error_event(exc, "error")


def sse_response(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    # sse-starlette cancels ``events`` when the client disconnects; the generation service
    # turns that into a cancel of the engine thread.
    return EventSourceResponse(events, ping=15, send_timeout=30)


def job_events_doc(view: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a job's ``/events`` route (:func:`job_events`)."""
    return described_responses(
        f"Server-sent `progress` events, each a {view}, until the job completes, fails or is "
        "cancelled; `error` (the envelope) if the job is deleted meanwhile.",
        404,
    )


def job_events(service: JobService[Any, Any], job_id: str) -> EventSourceResponse:
    """A job's live progress as server-sent events; 404 before the stream starts."""
    service.get(job_id)
    return sse_response(progress_events(service.events(job_id)))


@dataclass
class NativeEvents:
    """The native dialect's codec: a ``token`` event ({text}) per step, then ``done`` with
    ``done(outcome)`` or ``error`` with the envelope. ``shown`` rewrites the streamed text
    (the outcome keeps the raw text), e.g. to drop citation markers the final answer drops."""

    done: Callable[[GenerationOutcome], Any]
    shown: TextFilter | None = None
    parses = False

    def start(self) -> list[ServerSentEvent]:
        return []

    def feed(self, step: Step) -> list[ServerSentEvent]:
        text = step.text
        if self.shown is not None and text:
            text = self.shown.feed(text)
        return [event(TokenDelta(text=text), "token")] if text else []

    async def end(self, answer: Answer) -> list[ServerSentEvent]:
        out = []
        if self.shown is not None and (rest := self.shown.flush()):
            out.append(event(TokenDelta(text=rest), "token"))
        return [*out, event(self.done(answer.outcome), "done")]

    def error(self, exc: AppError, answer: Answer) -> list[ServerSentEvent]:
        return [error_event(exc, "error")]


class TextFilter(Protocol):
    """Rewrites a stream of text pieces; ``flush`` returns what it still holds at the end."""

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...
