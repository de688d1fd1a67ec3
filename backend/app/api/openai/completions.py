"""``POST /v1/completions``: OpenAI legacy text completion, streamed or not."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api import serving
from app.api.deps import GenerationDep
from app.api.openai.translate import completion_logprobs, completion_params, openai_finish
from app.api.sse import error_event, event, sse_response
from app.core.errors import AppError
from app.schemas.common import error_responses
from app.schemas.openai import Completion, CompletionChoice, CompletionRequest
from app.services.generation import GenerationService, PreparedGeneration
from app.services.generation.answering import Answer, Step

router = APIRouter(tags=["openai"])


@router.post(
    "/completions",
    response_model=Completion,
    responses=error_responses(400, 404, 503),
    operation_id="openai-create_completion",
)
async def create_completion(body: CompletionRequest, generation: GenerationDep, request: Request):
    """Text completion of a raw prompt (no chat template)."""
    job = await prepare_completion(generation, body)
    if body.stream:
        return sse_response(serving.stream(generation, job, CompletionChunks(body, job)))
    answer = await serving.complete(generation, job, request.is_disconnected, parse=False)
    return completion(body, job, answer)


async def prepare_completion(
    generation: GenerationService, body: CompletionRequest
) -> PreparedGeneration:
    """The request as a prepared generation (400/404/503 before anything runs)."""
    params, prompt, backend = completion_params(body), body.prompt_text(), body.backend
    return await generation.prepare(
        body.model, params, prompt=prompt, backend=backend, allow_fallback=body.allow_fallback
    )


def _prefix(body: CompletionRequest) -> str:
    """What precedes the completion in its text: the prompt when ``echo`` asks for it."""
    return body.prompt_text() if body.echo else ""


def completion(body: CompletionRequest, job: PreparedGeneration, answer: Answer) -> Completion:
    """A whole answer as OpenAI's completion object."""
    outcome, prefix = answer.outcome, _prefix(body)
    return Completion(
        id=f"cmpl-{job.request_id}",
        model=body.model,
        choices=[
            CompletionChoice(
                text=prefix + outcome.text,
                finish_reason=openai_finish(outcome.finish_reason),
                logprobs=completion_logprobs(outcome.logprobs, len(prefix))
                if body.logprobs is not None
                else None,
            )
        ],
        usage=outcome.usage(),
        timings=outcome.timings(),
    )


@dataclass
class CompletionChunks:
    """The codec of a streamed completion: the echoed prompt, a chunk per step with text (or
    logprobs), a chunk with the finish reason, the usage chunk when asked, [DONE]."""

    body: CompletionRequest
    job: PreparedGeneration
    parses = False

    def __post_init__(self) -> None:
        self.prefix = _prefix(self.body)
        self.offset = len(self.prefix)  # text offset of the next logprobs

    def _chunk(self, choices: list[CompletionChoice], **extra) -> Completion:
        return Completion(
            id=f"cmpl-{self.job.request_id}", model=self.body.model, choices=choices, **extra
        )

    def start(self) -> list[ServerSentEvent]:
        if not self.prefix:
            return []
        return [event(self._chunk([CompletionChoice(text=self.prefix, finish_reason=None)]))]

    def feed(self, step: Step) -> list[ServerSentEvent]:
        item = step.event
        want = self.body.logprobs is not None
        if item is None or not (item.text or (want and item.logprobs)):
            return []
        lp = completion_logprobs(item.logprobs, self.offset) if want else None
        self.offset += len(item.text)
        choice = CompletionChoice(text=item.text, finish_reason=None, logprobs=lp)
        return [event(self._chunk([choice]))]

    async def end(self, answer: Answer) -> list[ServerSentEvent]:
        outcome = answer.outcome
        finish = CompletionChoice(text="", finish_reason=openai_finish(outcome.finish_reason))
        out = [event(self._chunk([finish], timings=outcome.timings()))]
        if self.body.stream_options and self.body.stream_options.include_usage:
            out.append(event(self._chunk([], usage=outcome.usage())))
        return [*out, event("[DONE]")]

    def error(self, exc: AppError, answer: Answer) -> list[ServerSentEvent]:
        return [error_event(exc), event("[DONE]")]
