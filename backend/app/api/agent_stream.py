"""A chat turn with MCP tools (``services/mcp/agent.py``) in the native dialect: server-sent
events as it runs, or one response with its tool steps.

Events: ``token`` ({text}), ``tool_call``, ``approval_request`` (the stream waits for
``POST /api/v1/mcp/approvals/{approval_id}``), ``tool_result`` (with its duration), then
``done`` (the native response with ``tool_steps``) or ``error`` (the envelope).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

from sse_starlette import ServerSentEvent

from app.api.sse import error_event, event
from app.core.errors import AppError
from app.schemas.common import Usage
from app.schemas.generation import GenerateResponse, TokenDelta
from app.schemas.mcp import (
    ApprovalRequestEventData,
    ToolCallEventData,
    ToolResultEventData,
    ToolRoutingData,
    ToolStep,
)
from app.services.mcp import AgentLoop, AgentTurn
from app.services.mcp.agent import (
    AgentEvent,
    ApprovalAsked,
    RoundDone,
    Routed,
    Token,
    ToolCallMade,
    ToolResult,
)
from app.services.mcp.hub import OfferedTool


class _Turn:
    """What a turn's events add up to: its tool steps, the usage of every round, and the
    answering round's outcome."""

    def __init__(self) -> None:
        self.calls: dict[str, ToolCallEventData] = {}
        self.steps: list[ToolStep] = []
        self.prompt = self.completion = self.cached = 0
        self.last: RoundDone | None = None
        self.routing: ToolRoutingData | None = None

    def add(self, item: AgentEvent) -> None:
        if isinstance(item, ToolCallMade):
            self.calls[item.id] = _call(item)
        elif isinstance(item, ToolResult):
            self.steps.append(ToolStep(call=self.calls[item.id], result=_result(item)))
        elif isinstance(item, Routed):
            self.routing = ToolRoutingData(
                enabled_tools=item.routing.enabled_tools,
                offered=item.routing.offered,
                prompt_tokens_saved=item.routing.prompt_tokens_saved,
            )
        elif isinstance(item, RoundDone):
            usage = item.answer.outcome.usage()
            self.prompt += usage.prompt_tokens
            self.completion += usage.completion_tokens
            self.cached += usage.prompt_tokens_details.cached_tokens
            self.last = item

    def response(self) -> GenerateResponse:
        assert self.last is not None
        answer = self.last.answer
        outcome = answer.outcome
        usage = Usage(
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            total_tokens=self.prompt + self.completion,
        )
        usage.prompt_tokens_details.cached_tokens = self.cached
        return GenerateResponse(
            id=outcome.job.request_id,
            model=outcome.job.model.model_id,
            text=answer.content or "",
            finish_reason=outcome.finish_reason or "cancelled",
            usage=usage,
            timings=outcome.timings(),
            tool_steps=self.steps,
            tool_routing=self.routing,
        )


def _call(item: ToolCallMade) -> ToolCallEventData:
    return ToolCallEventData.model_validate(item, from_attributes=True)


def _result(item: ToolResult) -> ToolResultEventData:
    data = ToolResultEventData.model_validate(item, from_attributes=True)
    data.duration_ms = round(data.duration_ms, 1)
    return data


async def stream(
    agent: AgentLoop, turn: AgentTurn, offered: list[OfferedTool]
) -> AsyncIterator[ServerSentEvent]:
    """The turn as native server-sent events (see the module docstring)."""
    total = _Turn()
    try:
        async with aclosing(agent.run(turn, offered)) as items:
            async for item in items:
                total.add(item)
                if isinstance(item, Token):
                    yield event(TokenDelta(text=item.text), "token")
                elif isinstance(item, ApprovalAsked):
                    data = ApprovalRequestEventData.model_validate(item, from_attributes=True)
                    yield event(data, "approval_request")
                elif isinstance(item, ToolCallMade):
                    yield event(_call(item), "tool_call")
                elif isinstance(item, ToolResult):
                    yield event(_result(item), "tool_result")
                elif isinstance(item, Routed) and total.routing is not None:
                    yield event(total.routing, "tool_routing")
    except AppError as exc:
        yield error_event(exc, "error")
        return
    yield event(total.response(), "done")


async def complete(
    agent: AgentLoop,
    turn: AgentTurn,
    offered: list[OfferedTool],
    is_disconnected: Callable[[], Awaitable[bool]],
) -> GenerateResponse:
    """The whole turn as one response (a client that leaves stops the round it is in)."""
    total = _Turn()
    async with aclosing(agent.run(turn, offered, is_disconnected)) as items:
        async for item in items:
            total.add(item)
    return total.response()


def tool_event(
    item: ToolCallMade | ApprovalAsked | ToolResult,
) -> ToolCallEventData | ToolResultEventData:
    """The payload of a tool event as this dialect sends it (conversations' streams too)."""
    if isinstance(item, ApprovalAsked):
        return ApprovalRequestEventData(
            id=item.id,
            server=item.server,
            tool=item.tool,
            arguments=item.arguments,
            approval_id=item.approval_id,
        )
    if isinstance(item, ToolCallMade):
        return _call(item)
    return _result(item)
