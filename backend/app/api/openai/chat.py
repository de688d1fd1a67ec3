"""``POST /v1/chat/completions``: OpenAI chat, streamed or not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api.deps import GenerationDep
from app.api.openai.translate import chat_logprobs, chat_messages, chat_params, openai_finish
from app.api.sse import error_event, event, sse_response
from app.core.errors import AppError
from app.schemas.common import error_responses
from app.schemas.openai import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChatMessageOut,
)
from app.services.generation import GenerationOutcome, PreparedGeneration

router = APIRouter(tags=["openai"])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses=error_responses(400, 404, 503),
    operation_id="openai-create_chat_completion",
)
async def create_chat_completion(
    body: ChatCompletionRequest, generation: GenerationDep, request: Request
):
    """Chat completion in OpenAI's format (SSE chunks ending with [DONE] when stream=true)."""
    job = await generation.prepare(
        body.model,
        chat_params(body),
        messages=chat_messages(body.messages),
        backend=body.backend,
        allow_fallback=body.allow_fallback,
    )
    chat_id = f"chatcmpl-{job.request_id}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return sse_response(_chunks(generation, job, chat_id, body.model, include_usage,
                                    body.logprobs))
    outcome = await generation.run(job, request.is_disconnected)
    return ChatCompletion(
        id=chat_id,
        model=body.model,
        choices=[
            ChatChoice(
                message=ChatMessageOut(content=outcome.text),
                finish_reason=openai_finish(outcome.finish_reason),
                logprobs=chat_logprobs(outcome.logprobs) if body.logprobs else None,
            )
        ],
        usage=outcome.usage(),
        timings=outcome.timings(),
    )


async def _chunks(
    generation: GenerationDep,
    job: PreparedGeneration,
    chat_id: str,
    model: str,
    include_usage: bool,
    logprobs: bool,
) -> AsyncIterator[ServerSentEvent]:
    outcome = GenerationOutcome(job)

    def chunk(
        delta: ChatDelta, finish: Literal["stop", "length"] | None = None, lp=None
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=chat_id,
            model=model,
            choices=[ChatChunkChoice(delta=delta, finish_reason=finish, logprobs=lp)],
        )

    yield event(chunk(ChatDelta(role="assistant", content="")))
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            if item.text or (logprobs and item.logprobs):
                lp = chat_logprobs(item.logprobs) if logprobs else None
                yield event(chunk(ChatDelta(content=item.text), lp=lp))
    except AppError as exc:
        yield error_event(exc)
        yield event("[DONE]")
        return
    final = chunk(ChatDelta(), openai_finish(outcome.finish_reason))
    final.timings = outcome.timings()
    yield event(final)
    if include_usage:
        yield event(ChatCompletionChunk(id=chat_id, model=model, choices=[],
                                        usage=outcome.usage()))
    yield event("[DONE]")
