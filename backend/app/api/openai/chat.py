"""``POST /v1/chat/completions``: OpenAI chat, streamed or not, with tools and reasoning."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from app.api import serving
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
    ChoiceLogprobs,
    FinishReasonOut,
    FunctionCall,
    FunctionDelta,
    ToolCallChunk,
    ToolCallOut,
)
from app.services.generation import GenerationService, PreparedGeneration
from app.services.generation.answering import Answer, Step
from app.services.tools.output import Content, Piece, Reasoning

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
    job = await prepare_chat(generation, body)
    if body.stream:
        return sse_response(serving.stream(generation, job, ChatChunks(body, job)))
    answer = await serving.complete(generation, job, request.is_disconnected)
    return chat_completion(body, job, answer)


async def prepare_chat(
    generation: GenerationService, body: ChatCompletionRequest
) -> PreparedGeneration:
    """The request as a prepared generation (400/404/503 before anything runs)."""
    return await generation.prepare(
        body.model,
        chat_params(body),
        messages=chat_messages(body.messages),
        backend=body.backend,
        allow_fallback=body.allow_fallback,
        tools=tool_use(body),
        chat_ending=chat_ending(body),
    )


def chat_completion(
    body: ChatCompletionRequest, job: PreparedGeneration, answer: Answer
) -> ChatCompletion:
    """A whole answer as OpenAI's chat completion object."""
    outcome = answer.outcome
    calls = [
        ToolCallOut(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
        for c in answer.calls
    ]
    return ChatCompletion(
        id=f"chatcmpl-{job.request_id}",
        model=body.model,
        choices=[
            ChatChoice(
                message=ChatMessageOut(
                    content=answer.content,
                    tool_calls=calls or None,
                    reasoning_content=answer.reasoning,
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


@dataclass
class ChatChunks:
    """The codec of a streamed chat completion: a role chunk, delta chunks (logprobs on the
    first of a step's), a chunk with the finish reason, the usage chunk when asked, [DONE]."""

    body: ChatCompletionRequest
    job: PreparedGeneration
    parses = True

    def _chunk(
        self,
        delta: ChatDelta,
        finish: FinishReasonOut | None = None,
        lp: ChoiceLogprobs | None = None,
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=f"chatcmpl-{self.job.request_id}",
            model=self.body.model,
            choices=[ChatChunkChoice(delta=delta, finish_reason=finish, logprobs=lp)],
        )

    def start(self) -> list[ServerSentEvent]:
        return [event(self._chunk(ChatDelta(role="assistant", content="")))]

    def feed(self, step: Step) -> list[ServerSentEvent]:
        deltas = _deltas(step.pieces)
        item = step.event
        lp = None
        if item is not None and self.body.logprobs and item.logprobs:
            lp = chat_logprobs(item.logprobs)
        if lp is not None and not deltas:
            deltas = [ChatDelta(content="")]
        return [event(self._chunk(d, lp=lp if i == 0 else None)) for i, d in enumerate(deltas)]

    async def end(self, answer: Answer) -> list[ServerSentEvent]:
        outcome = answer.outcome
        final = self._chunk(ChatDelta(), chat_finish(outcome.finish_reason, bool(answer.calls)))
        final.timings = outcome.timings()
        out = [event(final)]
        if self.body.stream_options and self.body.stream_options.include_usage:
            usage = ChatCompletionChunk(
                id=final.id, model=self.body.model, choices=[], usage=outcome.usage()
            )
            out.append(event(usage))
        return [*out, event("[DONE]")]

    def error(self, exc: AppError, answer: Answer) -> list[ServerSentEvent]:
        return [error_event(exc), event("[DONE]")]
