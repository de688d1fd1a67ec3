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

An answer with MCP tools also has tool events (``tool_call``, ``approval_request``,
``tool_result``), kept in order between its text pieces. Their ids are ``N.K``: ``N`` the
text's length when it happened, ``K`` the event's index among the answer's tool events; a
client that resumes after ``N.K`` gets the tool events after the ``K``-th and the text from
``N`` on, one that resumes after ``N`` gets the tool events that happened at ``N`` or later.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from app.core.errors import AppError, InvalidRequest
from app.services.conversations.store import MessageRecord

EventKind = Literal[
    "message", "token", "tool_call", "approval_request", "tool_result", "done", "error", "stopped"
]
ToolEventKind = Literal["tool_call", "approval_request", "tool_result"]


@dataclass(frozen=True)
class AnswerEvent:
    """One event of an answer: ``message`` and ``done`` carry a stored message, ``token`` a
    text piece, a tool event its ``data`` (the payload the stream sends), ``error`` the
    error, ``stopped`` nothing (cancelled before its first token, so nothing was stored)."""

    kind: EventKind
    id: str | None
    message: MessageRecord | None = None
    text: str = ""
    error: AppError | None = None
    data: Any = None


@dataclass(frozen=True)
class _ToolEntry:
    offset: int  # the text's length when it happened
    index: int  # among the answer's tool events
    event: AnswerEvent


class RunningAnswer:
    """The event log of one answer and the followers waiting on it (one event loop)."""

    def __init__(self, conversation_id: str, user: MessageRecord | None) -> None:
        self.conversation_id = conversation_id
        self.user = user
        self.pieces: list[str] = []
        self.ends: list[int] = []  # offset just after each piece
        self.tools: list[_ToolEntry] = []
        # The log in order: ("text", index into pieces) or ("tool", index into tools).
        self._order: list[tuple[Literal["text", "tool"], int]] = []
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
        self._order.append(("text", len(self.pieces)))
        self.pieces.append(text)
        self.ends.append(self.length + len(text))
        self._notify()

    def add_tool_event(self, kind: ToolEventKind, data: Any) -> None:
        """Log a tool event (its ``data`` is what the stream sends)."""
        index = len(self.tools)
        event = AnswerEvent(kind, f"{self.length}.{index}", data=data)
        self._order.append(("tool", index))
        self.tools.append(_ToolEntry(self.length, index, event))
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

    async def _events(self, start: tuple[int, int] | None) -> AsyncIterator[AnswerEvent]:
        if start is None:
            if self.user is not None:
                yield AnswerEvent("message", "0", message=self.user)
            start = (0, -1)
        offset, seen = start  # text sent up to ``offset``; tool events sent up to ``seen``
        position = 0
        while True:
            wake = self._wake
            while position < len(self._order):
                kind, index = self._order[position]
                position += 1
                if kind == "tool":
                    entry = self.tools[index]
                    if entry.index > seen and (seen >= 0 or entry.offset >= offset):
                        yield entry.event
                        seen = entry.index
                    continue
                end = self.ends[index]
                if end > offset:
                    begin = end - len(self.pieces[index])
                    yield AnswerEvent("token", str(end), text=self.pieces[index][offset - begin :])
                    offset = end
            if self.last is not None:
                yield self.last
                return
            await wake.wait()

    def _offset(self, last_event_id: str | None) -> tuple[int, int] | None:
        """``(text offset, last tool event index seen or -1)`` of a ``Last-Event-ID``."""
        if last_event_id is None or last_event_id == "":
            return None
        text, _, tool = last_event_id.partition(".")
        valid = text.isdigit() and int(text) <= self.length
        if tool:
            valid = valid and tool.isdigit() and int(tool) < len(self.tools)
        if not valid:
            raise InvalidRequest(
                f"Last-Event-ID '{last_event_id[:40]}' is not a position in this answer "
                f"(0-{self.length}).",
                param="Last-Event-ID",
            )
        return int(text), int(tool) if tool else -1
