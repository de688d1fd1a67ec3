"""``POST /v1/messages`` (streamed or not) and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api import serving
from app.api.anthropic.errors import AnthropicRoute
from app.api.anthropic.events import MessageEvents
from app.api.anthropic.translate import (
    chat_ending,
    chat_messages,
    params,
    stop_reason,
    tool_input,
    tool_use,
)
from app.api.deps import GenerationDep, ModelManagerDep
from app.api.sse import sse_response
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
from app.services.generation import tokenization

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
    if body.stream:
        return sse_response(serving.stream(generation, job, MessageEvents(body, job)))
    answer = await serving.complete(generation, job, request.is_disconnected)
    content: list[TextBlockOut | ToolUseBlockOut] = []
    if answer.content or not answer.calls:
        content.append(TextBlockOut(text=answer.content or ""))
    content += [
        ToolUseBlockOut(id=c.id, name=c.name, input=tool_input(c.arguments)) for c in answer.calls
    ]
    stops = body.stop_sequences or []
    reason, sequence = await stop_reason(answer.outcome, stops, bool(answer.calls))
    usage = answer.outcome.usage()
    return Message(
        id=f"msg_{job.request_id}",
        model=body.model,
        content=content,
        stop_reason=reason,
        stop_sequence=sequence,
        usage=MessageUsage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens),
    )


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
