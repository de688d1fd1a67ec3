"""``POST /v1/completions``: OpenAI legacy text completion, streamed or not."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api.deps import GenerationDep
from app.api.openai.translate import completion_logprobs, completion_params, openai_finish
from app.api.sse import error_event, event, sse_response
from app.core.errors import AppError
from app.schemas.common import error_responses
from app.schemas.openai import Completion, CompletionChoice, CompletionRequest
from app.services.generation import GenerationOutcome, PreparedGeneration

router = APIRouter(tags=["openai"])


@router.post(
    "/completions",
    response_model=Completion,
    responses=error_responses(400, 404, 503),
    operation_id="openai-create_completion",
)
async def create_completion(body: CompletionRequest, generation: GenerationDep, request: Request):
    """Text completion of a raw prompt (no chat template)."""
    prompt = body.prompt_text()
    job = await generation.prepare(
        body.model,
        completion_params(body),
        prompt=prompt,
        backend=body.backend,
        allow_fallback=body.allow_fallback,
    )
    cmpl_id = f"cmpl-{job.request_id}"
    prefix = prompt if body.echo else ""
    want_logprobs = body.logprobs is not None
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return sse_response(
            _chunks(generation, job, cmpl_id, body.model, prefix, include_usage, want_logprobs)
        )
    outcome = await generation.run(job, request.is_disconnected)
    return Completion(
        id=cmpl_id,
        model=body.model,
        choices=[
            CompletionChoice(
                text=prefix + outcome.text,
                finish_reason=openai_finish(outcome.finish_reason),
                logprobs=completion_logprobs(outcome.logprobs, len(prefix))
                if want_logprobs
                else None,
            )
        ],
        usage=outcome.usage(),
        timings=outcome.timings(),
    )


async def _chunks(
    generation: GenerationDep,
    job: PreparedGeneration,
    cmpl_id: str,
    model: str,
    prefix: str,
    include_usage: bool,
    want_logprobs: bool,
) -> AsyncIterator[ServerSentEvent]:
    outcome = GenerationOutcome(job)
    offset = len(prefix)
    if prefix:
        yield event(
            Completion(
                id=cmpl_id, model=model, choices=[CompletionChoice(text=prefix, finish_reason=None)]
            )
        )
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            if item.text or (want_logprobs and item.logprobs):
                lp = completion_logprobs(item.logprobs, offset) if want_logprobs else None
                offset += len(item.text)
                yield event(
                    Completion(
                        id=cmpl_id,
                        model=model,
                        choices=[CompletionChoice(text=item.text, finish_reason=None, logprobs=lp)],
                    )
                )
    except AppError as exc:
        yield error_event(exc)
        yield event("[DONE]")
        return
    yield event(
        Completion(
            id=cmpl_id,
            model=model,
            choices=[CompletionChoice(text="", finish_reason=openai_finish(outcome.finish_reason))],
            timings=outcome.timings(),
        )
    )
    if include_usage:
        yield event(Completion(id=cmpl_id, model=model, choices=[], usage=outcome.usage()))
    yield event("[DONE]")
