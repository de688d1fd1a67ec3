"""Native generation: ``POST /api/v1/models/generate`` (JSON or SSE)."""

from __future__ import annotations

import json
from typing import Protocol

from fastapi import APIRouter, Request

from app.api import agent_stream, serving
from app.api.deps import AgentDep, GenerationDep
from app.api.sse import NativeEvents, sse_response
from app.backends.types import ChatMessage
from app.core.errors import InvalidRequest
from app.schemas.common import described_responses
from app.schemas.generation import (
    GenerateRequest,
    GenerateResponse,
    GenerationParameters,
    Message,
)
from app.services.generation import GenerationOutcome, ParamsInput
from app.services.mcp import AgentLoop, AgentTurn

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
        424,
        503,
    ),
)
async def generate(
    body: GenerateRequest, generation: GenerationDep, agent: AgentDep, request: Request
):
    """Generate text from a prompt or a conversation, optionally streamed. With
    ``mcp_servers`` the model may call those servers' tools (docs/mcp.md)."""
    if body.mcp_servers is not None:
        return await _agent_turn(body, agent, request)
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


async def _agent_turn(body: GenerateRequest, agent: AgentLoop, request: Request):
    assert body.mcp_servers is not None
    messages = request_messages(body)
    assert messages is not None
    turn = AgentTurn(
        model=body.model,
        params=request_params(body),
        messages=messages,
        servers=body.mcp_servers,
        tool_choice=body.tool_choice,
        max_steps=body.max_tool_steps,
        backend=body.backend,
        allow_fallback=body.allow_fallback,
        keep_alive=body.keep_alive,
    )
    offered = await agent.tools(turn)
    if not body.stream:
        if any(o.approval == "ask" for o in offered):
            raise InvalidRequest(
                "A chosen MCP server asks for approval of each tool call; that needs "
                "stream=true (the approval request is an event of the stream).",
                param="stream",
            )
        return await agent_stream.complete(agent, turn, offered, request.is_disconnected)
    return sse_response(agent_stream.stream(agent, turn, offered))
