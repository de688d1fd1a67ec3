"""Model text -> content, reasoning and tool calls, for whole answers and for streams.

One :class:`OutputParser` per generation is fed the engine's events in order. It splits a
leading ``<think>...</think>`` into reasoning, holds back text that could start a tool call,
and once a call has started keeps everything until the end, where the template family's parser
decides: calls (streamed as OpenAI does, id and name first, then argument fragments) or, if the
text holds none, plain content after all. Engines that parse for themselves (Ollama, vLLM,
remote) send reasoning and call deltas on their events; those pass through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.backends.base import TokenEvent, ToolCall, ToolCallDelta
from app.services.tools.formats import ToolFormat, marker_hold, new_call_id

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_ARG_CHUNK = 24  # characters of arguments per streamed fragment


@dataclass(frozen=True)
class Content:
    text: str


@dataclass(frozen=True)
class Reasoning:
    text: str


Piece = Content | Reasoning | ToolCallDelta


@dataclass
class OutputPlan:
    """How to read a generation's text (made by ``planning.plan_tools``)."""

    fmt: ToolFormat | None = None  # parse tool calls in this format (None: no tools)
    forced_prefix: str = ""  # the prompt already ends with this start of a call
    reasoning: bool = True  # split a leading <think>...</think>
    in_reasoning: bool = False  # the prompt itself opened <think>

    def parser(self) -> OutputParser:
        return OutputParser(self)


@dataclass
class _RemoteCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class OutputParser:
    plan: OutputPlan
    content_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        plan = self.plan
        self._mode = (
            "reasoning" if plan.in_reasoning else ("start" if plan.reasoning else "content")
        )
        self._pending = ""
        self._content = ""
        self._after_think = False
        self._tool_text: str | None = plan.forced_prefix if plan.forced_prefix else None
        self._remote: dict[int, _RemoteCall] = {}

    # --- results --------------------------------------------------------------------------------
    @property
    def content(self) -> str | None:
        text = "".join(self.content_parts)
        return text if text or not self.calls else None

    @property
    def reasoning(self) -> str | None:
        text = "".join(self.reasoning_parts)
        return text or None

    # --- feeding --------------------------------------------------------------------------------
    def feed_event(self, event: TokenEvent) -> list[Piece]:
        out: list[Piece] = []
        if event.reasoning:
            self._emit(Reasoning(event.reasoning), out)
        for delta in event.tool_calls:
            call = self._remote.setdefault(delta.index, _RemoteCall())
            call.id = delta.id or call.id
            call.name = delta.name or call.name
            call.arguments += delta.arguments
            out.append(delta)
        if event.text:
            self._route(event.text, out)
        return out

    def finish(self) -> list[Piece]:
        """Everything still held back; call once, after the last event."""
        out: list[Piece] = []
        if self._mode == "start":
            self._mode = "content"
            text, self._pending = self._pending, ""
            self._content_feed(text, out)
        elif self._mode == "reasoning" and self._pending:
            self._emit(Reasoning(self._pending), out)
            self._pending = ""
        fmt = self.plan.fmt
        if self._tool_text is not None and fmt is not None:
            parsed = fmt.parse(self._tool_text.lstrip())
            if parsed:
                for index, call in enumerate(parsed):
                    self._add_call(index, ToolCall(new_call_id(), call.name, call.arguments), out)
            else:
                self._emit(Content(self._tool_text), out)
        elif self._content:
            self._emit(Content(self._content), out)
        self._content = ""
        for index in sorted(self._remote):
            r = self._remote[index]
            self.calls.append(ToolCall(r.id or new_call_id(), r.name, r.arguments or "{}"))
        return out

    def _add_call(self, index: int, call: ToolCall, out: list[Piece]) -> None:
        self.calls.append(call)
        out.append(ToolCallDelta(index, call.id, call.name, ""))
        args = call.arguments
        for at in range(0, len(args), _ARG_CHUNK):
            out.append(ToolCallDelta(index, arguments=args[at : at + _ARG_CHUNK]))

    def _emit(self, piece: Content | Reasoning, out: list[Piece]) -> None:
        if not piece.text:
            return
        (self.content_parts if isinstance(piece, Content) else self.reasoning_parts).append(
            piece.text
        )
        out.append(piece)

    def _route(self, text: str, out: list[Piece]) -> None:
        if self._mode == "start":
            self._pending += text
            head = self._pending.lstrip()
            if len(head) < len(THINK_OPEN) and THINK_OPEN.startswith(head):
                return  # could still become <think>
            if head.startswith(THINK_OPEN):
                self._mode = "reasoning"
                text, self._pending = head[len(THINK_OPEN) :], ""
            else:
                self._mode = "content"
                text, self._pending = self._pending, ""
        if self._mode == "reasoning":
            self._pending += text
            end = self._pending.find(THINK_CLOSE)
            if end < 0:
                hold = marker_hold(self._pending, THINK_CLOSE)
                cut = len(self._pending) - hold
                self._emit(Reasoning(self._pending[:cut]), out)
                self._pending = self._pending[cut:]
                return
            self._emit(Reasoning(self._pending[:end]), out)
            text, self._pending = self._pending[end + len(THINK_CLOSE) :], ""
            self._mode, self._after_think = "content", True
        self._content_feed(text, out)

    def _content_feed(self, text: str, out: list[Piece]) -> None:
        if self._after_think:  # the blank line models put after </think> is not content
            text = text.lstrip()
            if not text:
                return
            self._after_think = False
        if self._tool_text is not None:
            self._tool_text += text
            return
        fmt = self.plan.fmt
        if fmt is None:
            self._emit(Content(text), out)
            return
        self._content += text
        start = fmt.find_start(self._content)
        if start >= 0:
            before = self._content[:start].rstrip()
            self._emit(Content(before), out)
            # The whitespace between is kept in case the "call" turns out to be text.
            self._tool_text = self._content[len(before) :]
            self._content = ""
            return
        hold = fmt.held_back(self._content)
        # Trailing whitespace waits too: if a call follows, it belongs to neither.
        cut = len(self._content[: len(self._content) - hold].rstrip())
        self._emit(Content(self._content[:cut]), out)
        self._content = self._content[cut:]
