"""The core of serving one answer: the generation's events read once, into its outcome
(finish reason, usage, timings) and, where the dialect reads tool calls and reasoning, through
the job's :class:`OutputParser`, streamed or all at once.

``api/serving.py`` drives a dialect's codec with it; services that are no HTTP stream
(conversations, compare columns) read their answers through it directly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from app.backends.base import TokenEvent, ToolCall
from app.services.generation import GenerationOutcome, GenerationService, PreparedGeneration
from app.services.tools.output import Content, OutputParser, Piece


@dataclass(frozen=True)
class Step:
    """One step of an answer: an engine event and what it reads as, or (``event`` None) what
    the parser held back until the end. Without a parser a step's pieces are its raw text."""

    event: TokenEvent | None
    pieces: list[Piece]

    @property
    def text(self) -> str:
        """The engine's raw text of this step ('' for the parser's tail)."""
        return self.event.text if self.event is not None else ""


@dataclass
class Answer:
    """A finished (or stopped) answer: the outcome and the output as the parser read it
    (``content`` is the raw text when nothing was parsed)."""

    outcome: GenerationOutcome
    content: str | None
    reasoning: str | None = None
    calls: list[ToolCall] = field(default_factory=list)


class Answering:
    """Reads one prepared generation; ``parse`` reads it through the job's output parser."""

    def __init__(self, generation: GenerationService, job: PreparedGeneration, parse: bool):
        self.generation = generation
        self.job = job
        self.outcome = GenerationOutcome(job)
        self.parser: OutputParser | None = job.output.parser() if parse else None

    async def steps(self) -> AsyncGenerator[Step, None]:
        """The answer's steps as the engine makes them, then the parser's tail (always one
        when parsing, maybe empty). Closing this iterator closes the generation's stream,
        which cancels the engine; an engine failure raises its :class:`AppError`."""
        async with aclosing(self.generation.stream(self.job)) as events:
            async for event in events:
                self.outcome.add(event)
                if self.parser is not None:
                    yield Step(event, self.parser.feed_event(event))
                else:
                    yield Step(event, [Content(event.text)] if event.text else [])
        if self.parser is not None:
            yield Step(None, self.parser.finish())

    async def complete(
        self, is_disconnected: Callable[[], Awaitable[bool]] | None = None
    ) -> Answer:
        """The whole answer at once (stopped early if ``is_disconnected`` says the client
        left), parsed after the fact as a stream would have been."""
        self.outcome = await self.generation.run(self.job, is_disconnected)
        if self.parser is not None:
            for event in self.outcome.events:
                self.parser.feed_event(event)
            self.parser.finish()
        return self.answer()

    def answer(self) -> Answer:
        """The answer as far as it has been read."""
        parser = self.parser
        if parser is None:
            return Answer(self.outcome, self.outcome.text)
        return Answer(self.outcome, parser.content, parser.reasoning, list(parser.calls))
