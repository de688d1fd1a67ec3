"""``POST /v1/chat/completions``: OpenAI chat, streamed or not, with tools and reasoning."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api.deps import GenerationDep
from app.api.openai.translate import (
    chat_ending,
    chat_finish,
    chat_logprobs,
    chat_messages,
    chat_params,
    tool_use,
)
from app.api.sse import error_event, event, sse_response
from app.backends.types import ToolCallDelta
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
    FinishReasonOut,
    FunctionCall,
    FunctionDelta,
    ToolCallChunk,
    ToolCallOut,
)
from app.services.generation import GenerationOutcome, PreparedGeneration
from app.services.tools.output import Content, OutputParser, Piece, Reasoning

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
        tools=tool_use(body),
        chat_ending=chat_ending(body),
    )
    chat_id = f"chatcmpl-{job.request_id}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return sse_response(
            _chunks(generation, job, chat_id, body.model, include_usage, body.logprobs)
        )
    outcome = await generation.run(job, request.is_disconnected)
    parser = job.output.parser()
    for item in outcome.events:
        parser.feed_event(item)
    parser.finish()
    calls = [
        ToolCallOut(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
        for c in parser.calls
    ]
    return ChatCompletion(
        id=chat_id,
        model=body.model,
        choices=[
            ChatChoice(
                message=ChatMessageOut(
                    content=parser.content,
                    tool_calls=calls or None,
                    reasoning_content=parser.reasoning,
                ),
                finish_reason=chat_finish(outcome.finish_reason, bool(calls)),
                logprobs=chat_logprobs(outcome.logprobs) if body.logprobs else None,
            )
        ],
        usage=outcome.usage(),
        timings=outcome.timings(),
    )


def _deltas(pieces: list[Piece]) -> list[ChatDelta]:
    """The deltas of one step's chunks: text and reasoning together, then each tool-call piece
    in a chunk of its own. OpenAI sends at most one entry per call in a chunk, and clients
    rely on it: the SDK's stream helper keeps only the first of two entries with one index."""
    content = "".join(p.text for p in pieces if isinstance(p, Content))
    reasoning = "".join(p.text for p in pieces if isinstance(p, Reasoning))
    out = []
    if content or reasoning:
        out.append(ChatDelta(content=content or None, reasoning_content=reasoning or None))
    for p in pieces:
        if isinstance(p, ToolCallDelta):
            entry = ToolCallChunk(
                index=p.index,
                id=p.id,
                type="function" if p.id else None,
                function=FunctionDelta(name=p.name, arguments=p.arguments),
            )
            out.append(ChatDelta(tool_calls=[entry]))
    return out


async def _chunks(
    generation: GenerationDep,
    job: PreparedGeneration,
    chat_id: str,
    model: str,
    include_usage: bool,
    logprobs: bool,
) -> AsyncIterator[ServerSentEvent]:
    outcome = GenerationOutcome(job)
    parser: OutputParser = job.output.parser()

    def chunk(
        delta: ChatDelta, finish: FinishReasonOut | None = None, lp=None
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
            deltas = _deltas(parser.feed_event(item))
            lp = chat_logprobs(item.logprobs) if logprobs and item.logprobs else None
            if lp is not None and not deltas:
                deltas = [ChatDelta(content="")]
            for i, delta in enumerate(deltas):
                yield event(chunk(delta, lp=lp if i == 0 else None))
    except AppError as exc:
        yield error_event(exc)
        yield event("[DONE]")
        return
    for delta in _deltas(parser.finish()):
        yield event(chunk(delta))
    final = chunk(ChatDelta(), chat_finish(outcome.finish_reason, bool(parser.calls)))
    final.timings = outcome.timings()
    yield event(final)
    if include_usage:
        yield event(ChatCompletionChunk(id=chat_id, model=model, choices=[], usage=outcome.usage()))
    yield event("[DONE]")
