"""The Responses stream: ``response.created`` and ``.in_progress``, then output items as the
parser reads them (a message item opened on the first text, a ``function_call`` item per call
with its arguments as deltas), then ``response.completed``; or ``error`` and
``response.failed``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sse_starlette import ServerSentEvent

from app.api.sse import event
from app.backends.types import ToolCallDelta
from app.core.errors import AppError
from app.schemas.responses import (
    ArgumentsDelta,
    ArgumentsDone,
    ContentPartEvent,
    ErrorEvent,
    FunctionCallObject,
    GeneratedItem,
    MessageObject,
    OutputItem,
    OutputItemEvent,
    OutputText,
    OutputTextDelta,
    OutputTextDone,
    ResponseError,
    ResponseLifecycleEvent,
    ResponseObject,
    ResponseStatus,
    StreamEvent,
)
from app.services.generation.answering import Answer, Step
from app.services.tools.output import Content

# Builds the response object: (status, output items, answer or None, error or None).
Build = Callable[
    [ResponseStatus, list[OutputItem], Answer | None, ResponseError | None], ResponseObject
]
# Settles a finished answer: final statuses, storage; returns the completed response.
Finish = Callable[[Answer, str, list[OutputItem]], ResponseObject]


@dataclass
class ResponseEvents:
    """The codec of a streamed response."""

    build: Build
    finish: Finish
    new_id: Callable[[str], str]
    parses = True
    items: list[OutputItem] = field(default_factory=list)
    text: str = ""  # of the message item
    _open: GeneratedItem | None = None
    _seq: int = 0

    def _event(self, data: StreamEvent) -> ServerSentEvent:
        return event(data, data.type)

    def _next(self) -> int:
        self._seq += 1
        return self._seq - 1

    def _lifecycle(self, kind: str, response: ResponseObject) -> ServerSentEvent:
        return self._event(
            ResponseLifecycleEvent(type=kind, sequence_number=self._next(), response=response)
        )

    def _where(self) -> dict:
        assert self._open is not None
        return {"item_id": self._open.id, "output_index": len(self.items) - 1}

    def _add(self, item: GeneratedItem) -> ServerSentEvent:
        self._open = item
        self.items.append(item)
        added = OutputItemEvent(
            type="response.output_item.added",
            sequence_number=self._next(),
            output_index=len(self.items) - 1,
            item=item,
        )
        return self._event(added)

    def _close(self) -> list[ServerSentEvent]:
        item = self._open
        if item is None:
            return []
        where = self._where()
        self._open = None
        out: list[StreamEvent]
        if isinstance(item, MessageObject):
            part = OutputText(text=self.text)
            item.content = [part]
            out = [
                OutputTextDone(sequence_number=self._next(), **where, text=self.text),
                ContentPartEvent(
                    type="response.content_part.done",
                    sequence_number=self._next(),
                    **where,
                    part=part,
                ),
            ]
        else:
            out = [
                ArgumentsDone(
                    sequence_number=self._next(),
                    **where,
                    arguments=item.arguments,
                    name=item.name,
                )
            ]
        item.status = "completed"
        done = OutputItemEvent(
            type="response.output_item.done",
            sequence_number=self._next(),
            output_index=where["output_index"],
            item=item,
        )
        return [self._event(e) for e in [*out, done]]

    def start(self) -> list[ServerSentEvent]:
        started = self.build("in_progress", [], None, None)
        return [
            self._lifecycle("response.created", started),
            self._lifecycle("response.in_progress", started),
        ]

    def feed(self, step: Step) -> list[ServerSentEvent]:
        out: list[ServerSentEvent] = []
        for piece in step.pieces:
            if isinstance(piece, Content) and piece.text:
                if not isinstance(self._open, MessageObject):
                    out += self._close()
                    out.append(
                        self._add(MessageObject(id=self.new_id("msg"), status="in_progress"))
                    )
                    part = ContentPartEvent(
                        type="response.content_part.added",
                        sequence_number=self._next(),
                        **self._where(),
                        part=OutputText(text=""),
                    )
                    out.append(self._event(part))
                self.text += piece.text
                delta = OutputTextDelta(
                    sequence_number=self._next(), **self._where(), delta=piece.text
                )
                out.append(self._event(delta))
            elif isinstance(piece, ToolCallDelta):
                if piece.id is not None:
                    out += self._close()
                    call = FunctionCallObject(
                        id=self.new_id("fc"),
                        status="in_progress",
                        call_id=piece.id,
                        name=piece.name or "",
                        arguments="",
                    )
                    out.append(self._add(call))
                if piece.arguments and isinstance(self._open, FunctionCallObject):
                    self._open.arguments += piece.arguments
                    delta_args = ArgumentsDelta(
                        sequence_number=self._next(), **self._where(), delta=piece.arguments
                    )
                    out.append(self._event(delta_args))
        return out

    async def end(self, answer: Answer) -> list[ServerSentEvent]:
        out = self._close()
        if not self.items:  # nothing generated: one empty message, as a plain reply has
            self.items.append(
                MessageObject(
                    id=self.new_id("msg"), status="completed", content=[OutputText(text="")]
                )
            )
        done = self.finish(answer, self.text, self.items)
        # Also when status is "incomplete" (max_output_tokens reached): the SDK's stream helper
        # (responses.stream().get_final_response) reads the final object from this event only.
        return [*out, self._lifecycle("response.completed", done)]

    def error(self, exc: AppError, answer: Answer) -> list[ServerSentEvent]:
        error = ResponseError(code=exc.code or exc.error_type, message=exc.message)
        failed = ErrorEvent(
            sequence_number=self._next(), code=error.code, message=exc.message, param=exc.param
        )
        return [
            self._event(failed),
            self._lifecycle("response.failed", self.build("failed", [], answer, error)),
        ]
