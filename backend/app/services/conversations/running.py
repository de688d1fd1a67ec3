"""An answer being written, kept apart from the connections that watch it.

The answer runs as its own task: a client that goes away (a reload, a closed laptop, a flaky
network) does not stop it; only an explicit cancel does. Its events are kept in memory while it
runs and for a short while after, so a client can attach (or re-attach) at any time and get the
events it has not seen: the user message, the answer's text pieces, then the last event.

Event ids are character offsets into the answer's text: ``0`` for the user message and, for a
text piece, the length of the answer once that piece is added. A client that reconnects with
``Last-Event-ID: N`` gets the text from character ``N`` on, so what it already had plus what it
gets is the whole answer, whatever piece it was cut off in. What is kept is the answer's text
(bounded by its ``max_tokens``), one message and the last event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from app.core.errors import AppError, InvalidRequest
from app.services.conversations.store import MessageRecord

EventKind = Literal["message", "token", "done", "error", "stopped"]


@dataclass(frozen=True)
class AnswerEvent:
    """One event of an answer: ``message`` and ``done`` carry a stored message, ``token`` a
    text piece, ``error`` the error, ``stopped`` nothing (cancelled before its first token,
    so nothing was stored)."""

    kind: EventKind
    id: str | None
    message: MessageRecord | None = None
    text: str = ""
    error: AppError | None = None


class RunningAnswer:
    """The event log of one answer and the followers waiting on it (one event loop)."""

    def __init__(self, conversation_id: str, user: MessageRecord | None) -> None:
        self.conversation_id = conversation_id
        self.user = user
        self.pieces: list[str] = []
        self.ends: list[int] = []  # offset just after each piece
        self.last: AnswerEvent | None = None
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def length(self) -> int:
        return self.ends[-1] if self.ends else 0

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def finished(self) -> bool:
        return self.last is not None

    def add_text(self, text: str) -> None:
        self.pieces.append(text)
        self.ends.append(self.length + len(text))
        self._notify()

    def end(self, event: AnswerEvent) -> None:
        self.last = event
        self._notify()

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def follow(self, last_event_id: str | None = None) -> AsyncIterator[AnswerEvent]:
        """The events after ``last_event_id`` (all of them without one), live until the
        last event. Raises 400 at once for an id that is not an offset of this answer."""
        return self._events(self._offset(last_event_id))

    async def _events(self, offset: int | None) -> AsyncIterator[AnswerEvent]:
        if offset is None:
            if self.user is not None:
                yield AnswerEvent("message", "0", message=self.user)
            offset = 0
        index = 0
        while True:
            wake = self._wake
            while index < len(self.pieces):
                end = self.ends[index]
                if end > offset:
                    start = end - len(self.pieces[index])
                    yield AnswerEvent("token", str(end), text=self.pieces[index][offset - start :])
                    offset = end
                index += 1
            if self.last is not None:
                yield self.last
                return
            await wake.wait()

    def _offset(self, last_event_id: str | None) -> int | None:
        if last_event_id is None or last_event_id == "":
            return None
        if not last_event_id.isdigit() or int(last_event_id) > self.length:
            raise InvalidRequest(
                f"Last-Event-ID '{last_event_id[:40]}' is not a position in this answer "
                f"(0-{self.length}).",
                param="Last-Event-ID",
            )
        return max(0, int(last_event_id))
