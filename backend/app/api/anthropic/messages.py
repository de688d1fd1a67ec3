"""``POST /v1/messages`` (streamed or not) and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api.anthropic.errors import AnthropicRoute, anthropic_body
from app.api.anthropic.translate import (
    chat_ending,
    chat_messages,
    params,
    stop_reason,
    tool_input,
    tool_use,
)
from app.api.deps import GenerationDep, ModelManagerDep
from app.api.sse import event, sse_response
from app.backends.types import ToolCallDelta
from app.core.errors import AppError
from app.schemas.anthropic import (
    AnthropicError,
    CountTokensRequest,
    CountTokensResponse,
    Message,
    MessagesRequest,
    MessageUsage,
    TextBlockOut,
    ToolUseBlockOut,
)
from app.services.generation import GenerationOutcome, PreparedGeneration, tokenization
from app.services.tools.output import Content, Piece

router = APIRouter(prefix="/messages", tags=["anthropic"], route_class=AnthropicRoute)

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": AnthropicError} for code in (400, 401, 404, 413, 429, 500)
}


@router.post("", response_model=Message, responses=_ERRORS, operation_id="anthropic-create_message")
async def create_message(body: MessagesRequest, generation: GenerationDep, request: Request):
    """A reply in Anthropic's Messages format (SSE events when stream=true); a final
    assistant turn is continued (prefill), and the reply holds only the new text."""
    messages = chat_messages(body)
    job = await generation.prepare(
        body.model,
        params(body),
        messages=messages,
        backend=body.backend,
        tools=tool_use(body),
        chat_ending=chat_ending(messages),
    )
    msg_id = f"msg_{job.request_id}"
    if body.stream:
        return sse_response(_events(generation, job, msg_id, body))
    outcome = await generation.run(job, request.is_disconnected)
    parser = job.output.parser()
    for item in outcome.events:
        parser.feed_event(item)
    parser.finish()
    content: list[TextBlockOut | ToolUseBlockOut] = []
    if parser.content or not parser.calls:
        content.append(TextBlockOut(text=parser.content or ""))
    content += [
        ToolUseBlockOut(id=c.id, name=c.name, input=tool_input(c.arguments)) for c in parser.calls
    ]
    reason, sequence = await stop_reason(outcome, body.stop_sequences or [], bool(parser.calls))
    usage = outcome.usage()
    return Message(
        id=msg_id,
        model=body.model,
        content=content,
        stop_reason=reason,
        stop_sequence=sequence,
        usage=MessageUsage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens),
    )


class _Blocks:
    """Turns parser pieces into content-block events: a text block opened on the first
    text, a ``tool_use`` block per call with its arguments as ``input_json_delta``."""

    def __init__(self) -> None:
        self.index = -1
        self.kind: str | None = None
        self.calls = 0

    def _close(self) -> list[ServerSentEvent]:
        if self.kind is None:
            return []
        self.kind = None
        return [event({"type": "content_block_stop", "index": self.index}, "content_block_stop")]

    def _open(self, block: dict) -> list[ServerSentEvent]:
        out = self._close()
        self.index += 1
        self.kind = block["type"]
        out.append(
            event(
                {"type": "content_block_start", "index": self.index, "content_block": block},
                "content_block_start",
            )
        )
        return out

    def feed(self, pieces: list[Piece]) -> list[ServerSentEvent]:
        out: list[ServerSentEvent] = []
        for piece in pieces:
            if isinstance(piece, Content) and piece.text:
                if self.kind != "text":
                    out += self._open({"type": "text", "text": ""})
                out.append(
                    event(
                        {
                            "type": "content_block_delta",
                            "index": self.index,
                            "delta": {"type": "text_delta", "text": piece.text},
                        },
                        "content_block_delta",
                    )
                )
            elif isinstance(piece, ToolCallDelta):
                if piece.id is not None:
                    self.calls += 1
                    out += self._open(
                        {"type": "tool_use", "id": piece.id, "name": piece.name or "", "input": {}}
                    )
                if piece.arguments:
                    out.append(
                        event(
                            {
                                "type": "content_block_delta",
                                "index": self.index,
                                "delta": {
                                    "type": "input_json_delta",
                                    "partial_json": piece.arguments,
                                },
                            },
                            "content_block_delta",
                        )
                    )
        return out

    def end(self) -> list[ServerSentEvent]:
        if self.index < 0:  # nothing at all: an empty text block, as Anthropic sends
            return self._open({"type": "text", "text": ""}) + self._close()
        return self._close()


async def _events(
    generation: GenerationDep, job: PreparedGeneration, msg_id: str, body: MessagesRequest
) -> AsyncIterator[ServerSentEvent]:
    outcome = GenerationOutcome(job)
    parser = job.output.parser()
    blocks = _Blocks()
    start = Message(
        id=msg_id,
        model=body.model,
        content=[],
        stop_reason=None,
        usage=MessageUsage(input_tokens=job.prompt_tokens, output_tokens=0),
    )
    yield event({"type": "message_start", "message": start.model_dump()}, "message_start")
    yield event({"type": "ping"}, "ping")
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            for ev in blocks.feed(parser.feed_event(item)):
                yield ev
        for ev in blocks.feed(parser.finish()):
            yield ev
        reason, sequence = await stop_reason(outcome, body.stop_sequences or [], blocks.calls > 0)
    except AppError as exc:
        yield event(anthropic_body(exc), "error")
        return
    for ev in blocks.end():
        yield ev
    yield event(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": {"output_tokens": outcome.usage().completion_tokens},
        },
        "message_delta",
    )
    yield event({"type": "message_stop"}, "message_stop")


@router.post(
    "/count_tokens",
    response_model=CountTokensResponse,
    responses=_ERRORS,
    operation_id="anthropic-count_tokens",
)
async def count_tokens(body: CountTokensRequest, manager: ModelManagerDep) -> CountTokensResponse:
    """Tokens the conversation takes in the model's prompt (chat template included)."""
    messages = chat_messages(body)
    ids, _ = await tokenization.tokenize(
        manager,
        body.model,
        messages=messages,
        tools=tool_use(body),
        chat_ending=chat_ending(messages),
    )
    return CountTokensResponse(input_tokens=len(ids))
