"""``POST /v1/messages`` (streamed or not) and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api.anthropic.errors import AnthropicRoute, anthropic_body
from app.api.anthropic.translate import chat_messages, params, stop_reason
from app.api.deps import GenerationDep, ModelManagerDep
from app.api.sse import event, sse_response
from app.core.errors import AppError
from app.schemas.anthropic import (
    AnthropicError,
    CountTokensRequest,
    CountTokensResponse,
    Message,
    MessagesRequest,
    MessageUsage,
    TextBlockOut,
)
from app.services import tokenization
from app.services.generation import GenerationOutcome, PreparedGeneration

router = APIRouter(prefix="/messages", tags=["anthropic"], route_class=AnthropicRoute)

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": AnthropicError} for code in (400, 401, 404, 429, 500)
}


@router.post("", response_model=Message, responses=_ERRORS, operation_id="anthropic-create_message")
async def create_message(body: MessagesRequest, generation: GenerationDep, request: Request):
    """A reply in Anthropic's Messages format (SSE events when stream=true)."""
    job = await generation.prepare(
        body.model, params(body), messages=chat_messages(body), backend=body.backend
    )
    msg_id = f"msg_{job.request_id}"
    if body.stream:
        return sse_response(_events(generation, job, msg_id, body))
    outcome = await generation.run(job, request.is_disconnected)
    reason, sequence = await stop_reason(outcome, body.stop_sequences or [])
    usage = outcome.usage()
    return Message(
        id=msg_id,
        model=body.model,
        content=[TextBlockOut(text=outcome.text)],
        stop_reason=reason,
        stop_sequence=sequence,
        usage=MessageUsage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens),
    )


async def _events(
    generation: GenerationDep, job: PreparedGeneration, msg_id: str, body: MessagesRequest
) -> AsyncIterator[ServerSentEvent]:
    outcome = GenerationOutcome(job)
    start = Message(
        id=msg_id,
        model=body.model,
        content=[],
        stop_reason=None,
        usage=MessageUsage(input_tokens=job.prompt_tokens, output_tokens=0),
    )
    yield event({"type": "message_start", "message": start.model_dump()}, "message_start")
    yield event(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        "content_block_start",
    )
    yield event({"type": "ping"}, "ping")
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            if item.text:
                yield event(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": item.text},
                    },
                    "content_block_delta",
                )
        reason, sequence = await stop_reason(outcome, body.stop_sequences or [])
    except AppError as exc:
        yield event(anthropic_body(exc), "error")
        return
    yield event({"type": "content_block_stop", "index": 0}, "content_block_stop")
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
    ids, _ = await tokenization.tokenize(manager, body.model, messages=chat_messages(body))
    return CountTokensResponse(input_tokens=len(ids))
