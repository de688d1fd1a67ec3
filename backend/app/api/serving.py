"""The serving driver: one generation answered in one API dialect, streamed or whole.

The driver owns the generation's stream, its outcome and output parser
(``services/generation/answering.py``) and the error path; a dialect only says how its events look,
through a :class:`Codec`. A typed :class:`AppError` mid-stream becomes the codec's error
events and the stream ends cleanly; a client that leaves closes the stream (sse-starlette and
Starlette cancel it), which cancels the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Protocol, TypeVar

from app.core.errors import AppError
from app.services.generation import GenerationService, PreparedGeneration
from app.services.generation.answering import Answer, Answering, Step

E = TypeVar("E")


class Codec(Protocol[E]):
    """How one dialect renders a streamed answer: its opening events, the events of each step,
    the closing events once the answer is complete, or the error events when it fails (with
    the answer as far as it got)."""

    # Whether the answer is read through the job's output parser (tool calls, reasoning):
    # True for the chat dialects, False where the raw text is the answer.
    parses: bool

    def start(self) -> list[E]: ...

    def feed(self, step: Step) -> list[E]: ...

    async def end(self, answer: Answer) -> list[E]: ...

    def error(self, exc: AppError, answer: Answer) -> list[E]: ...


async def stream(
    generation: GenerationService, job: PreparedGeneration, codec: Codec[E]
) -> AsyncIterator[E]:
    """The answer as the codec's events: ``start``, ``feed`` per step, then ``end``, or
    ``error`` (and nothing after it) when generation fails with a typed error."""
    reading = Answering(generation, job, parse=codec.parses)
    for item in codec.start():
        yield item
    try:
        # aclosing: a client that leaves while an event waits to be sent closes this
        # generator at a yield; the steps (and so the engine) must close with it at once.
        async with aclosing(reading.steps()) as steps:
            async for step in steps:
                for item in codec.feed(step):
                    yield item
        closing = await codec.end(reading.answer())
    except AppError as exc:
        for item in codec.error(exc, reading.answer()):
            yield item
        return
    for item in closing:
        yield item


async def complete(
    generation: GenerationService,
    job: PreparedGeneration,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    *,
    parse: bool = True,
) -> Answer:
    """The whole answer for a non-streamed response (``parse``: through the output parser).
    ``is_disconnected`` (the request's) stops it early; a batch line passes none."""
    return await Answering(generation, job, parse=parse).complete(is_disconnected)
