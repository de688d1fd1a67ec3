"""Runs one prompt on several models at once and merges their streams in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from app.backends.base import ChatMessage
from app.core.errors import AppError, GenerationFailed
from app.services.generation import GenerationOutcome, GenerationService, ParamsInput
from app.services.generation.answering import Answering


@dataclass(frozen=True)
class CompareColumn:
    model: str
    backend: str | None


@dataclass
class ColumnEvent:
    """One event of one column: ``token`` (text), ``done`` (outcome) or ``error``."""

    index: int
    kind: str
    text: str = ""
    outcome: GenerationOutcome | None = None
    error: AppError | None = None


_END = object()


async def compare_stream(
    generation: GenerationService,
    columns: list[CompareColumn],
    params: ParamsInput,
    *,
    prompt: str | None,
    messages: list[ChatMessage] | None,
) -> AsyncIterator[ColumnEvent]:
    """Events of all columns as they happen. Each column loads its model and streams on its own;
    one failing column does not stop the others. Closing the iterator cancels every column."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def run(index: int, column: CompareColumn) -> None:
        try:
            job = await generation.prepare(
                column.model, params, prompt=prompt, messages=messages, backend=column.backend
            )
            reading = Answering(generation, job, parse=False)
            async with aclosing(reading.steps()) as steps:
                async for step in steps:
                    if step.text:
                        await queue.put(ColumnEvent(index, "token", text=step.text))
            await queue.put(ColumnEvent(index, "done", outcome=reading.outcome))
        except AppError as exc:
            await queue.put(ColumnEvent(index, "error", error=exc))
        except Exception as exc:  # an engine failure must not take the other columns down
            await queue.put(ColumnEvent(index, "error", error=GenerationFailed(str(exc))))
        finally:
            await queue.put(_END)

    tasks = [asyncio.create_task(run(i, c)) for i, c in enumerate(columns)]
    running = len(tasks)
    try:
        while running:
            item = await queue.get()
            if item is _END:
                running -= 1
                continue
            assert isinstance(item, ColumnEvent)
            yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
