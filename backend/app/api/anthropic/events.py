"""The Messages stream: ``message_start``, content blocks (a text block opened on the first
text, a ``tool_use`` block per call with its arguments as ``input_json_delta``),
``message_delta`` with the stop reason, ``message_stop``; or an ``error`` event."""

from __future__ import annotations

from dataclasses import dataclass

from sse_starlette import ServerSentEvent

from app.api.anthropic.errors import anthropic_body
from app.api.anthropic.translate import stop_reason
from app.api.sse import event
from app.backends.types import ToolCallDelta
from app.core.errors import AppError
from app.schemas.anthropic import Message, MessagesRequest, MessageUsage
from app.services.generation import PreparedGeneration
from app.services.generation.answering import Answer, Step
from app.services.tools.output import Content


def _sse(data: dict) -> ServerSentEvent:
    return event(data, data["type"])


@dataclass
class MessageEvents:
    """The codec of a streamed Messages reply."""

    body: MessagesRequest
    job: PreparedGeneration
    parses = True

    def __post_init__(self) -> None:
        self.index = -1  # of the open (or last) content block
        self.kind: str | None = None  # type of the open block

    def _close(self) -> list[ServerSentEvent]:
        if self.kind is None:
            return []
        self.kind = None
        return [_sse({"type": "content_block_stop", "index": self.index})]

    def _open(self, block: dict) -> list[ServerSentEvent]:
        out = self._close()
        self.index += 1
        self.kind = block["type"]
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        return [*out, _sse(start)]

    def _delta(self, delta: dict) -> ServerSentEvent:
        return _sse({"type": "content_block_delta", "index": self.index, "delta": delta})

    def start(self) -> list[ServerSentEvent]:
        start = Message(
            id=f"msg_{self.job.request_id}",
            model=self.body.model,
            content=[],
            stop_reason=None,
            usage=MessageUsage(input_tokens=self.job.prompt_tokens, output_tokens=0),
        )
        return [
            _sse({"type": "message_start", "message": start.model_dump()}),
            _sse({"type": "ping"}),
        ]

    def feed(self, step: Step) -> list[ServerSentEvent]:
        out: list[ServerSentEvent] = []
        for piece in step.pieces:
            if isinstance(piece, Content) and piece.text:
                if self.kind != "text":
                    out += self._open({"type": "text", "text": ""})
                out.append(self._delta({"type": "text_delta", "text": piece.text}))
            elif isinstance(piece, ToolCallDelta):
                if piece.id is not None:
                    block = {
                        "type": "tool_use",
                        "id": piece.id,
                        "name": piece.name or "",
                        "input": {},
                    }
                    out += self._open(block)
                if piece.arguments:
                    out.append(
                        self._delta({"type": "input_json_delta", "partial_json": piece.arguments})
                    )
        return out

    async def end(self, answer: Answer) -> list[ServerSentEvent]:
        stops = self.body.stop_sequences or []
        reason, sequence = await stop_reason(answer.outcome, stops, bool(answer.calls))
        if self.index < 0:  # nothing at all: an empty text block, as Anthropic sends
            out = self._open({"type": "text", "text": ""}) + self._close()
        else:
            out = self._close()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": {"output_tokens": answer.outcome.usage().completion_tokens},
        }
        return [*out, _sse(delta), _sse({"type": "message_stop"})]

    def error(self, exc: AppError, answer: Answer) -> list[ServerSentEvent]:
        return [event(anthropic_body(exc), "error")]
