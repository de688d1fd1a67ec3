"""Native generation: ``POST /api/v1/models/generate`` (JSON or SSE)."""

from __future__ import annotations

import json
from typing import Protocol

from fastapi import APIRouter, Request

from app.api import serving
from app.api.deps import GenerationDep
from app.api.sse import NativeEvents, sse_response
from app.backends.types import ChatMessage
from app.schemas.common import described_responses
from app.schemas.generation import (
    GenerateRequest,
    GenerateResponse,
    GenerationParameters,
    Message,
)
from app.services.generation import GenerationOutcome, ParamsInput

router = APIRouter(prefix="/models", tags=["generate"])


class _ConversationInput(Protocol):
    messages: list[Message] | None
    system: str | None


def request_messages(body: _ConversationInput) -> list[ChatMessage] | None:
    """The conversation of a native request, with its system prompt first."""
    if body.messages is None:
        return None
    messages = [ChatMessage(m.role, m.content) for m in body.messages]
    if body.system:
        messages.insert(0, ChatMessage("system", body.system))
    return messages


def request_params(body: GenerationParameters) -> ParamsInput:
    return ParamsInput.from_request(
        body,
        stop=body.stop,
        json_schema=json.dumps(body.json_schema) if body.json_schema is not None else None,
        json_schema_param="json_schema",
    )


def generation_response(outcome: GenerationOutcome) -> GenerateResponse:
    return GenerateResponse(
        id=outcome.job.request_id,
        model=outcome.job.model.model_id,
        text=outcome.text,
        finish_reason=outcome.finish_reason or "cancelled",
        usage=outcome.usage(),
        timings=outcome.timings(),
    )


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses=described_responses(
        "JSON, or with stream=true server-sent events: `token` "
        "({text}) per step, then `done` (this object) or `error` (the envelope).",
        400,
        404,
        503,
    ),
)
async def generate(body: GenerateRequest, generation: GenerationDep, request: Request):
    """Generate text from a prompt or a conversation, optionally streamed."""
    job = await generation.prepare(
        body.model,
        request_params(body),
        prompt=body.prompt,
        messages=request_messages(body),
        backend=body.backend,
        allow_fallback=body.allow_fallback,
        keep_alive=body.keep_alive,
    )
    if not body.stream:
        answer = await serving.complete(generation, job, request.is_disconnected, parse=False)
        return generation_response(answer.outcome)
    return sse_response(serving.stream(generation, job, NativeEvents(generation_response)))
