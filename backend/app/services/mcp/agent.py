"""The agent loop: a chat turn in which the model may call MCP tools, run by the server.

Each round generates with the chosen servers' tools offered. When the answer calls tools, each
call is run on its server (after the user's approval where the server asks for it), its
result joins the conversation as a tool message, and the model goes again; a round without
calls is the answer. After ``max_steps`` rounds of calls the model answers with tools off.

What can go wrong, and what the loop does:

- a tool reports an error, times out, or its arguments are not JSON: the model gets an error
  result (it may try again or answer);
- the user denies a call (or does not decide in time): the model is told it was denied;
- the server's connection ends during a call: :class:`McpServerGone` ends the loop (the
  stream's error event), since the tools the model was offered are gone;
- a result longer than the budget is cut, with a note saying so.

The loop yields :data:`AgentEvent` values; a route renders them in its dialect.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal

from app.backends.types import ChatMessage, ToolCall, ToolSpec, ToolUse
from app.core.config import McpSettings
from app.core.errors import InvalidRequest
from app.core.request_context import current_identity
from app.services.generation import GenerationService, ParamsInput
from app.services.generation.answering import Answer, Answering
from app.services.mcp.approvals import Approvals
from app.services.mcp.connection import McpServerGone, McpTimeout, McpUnavailable
from app.services.mcp.hub import McpHub, OfferedTool
from app.services.mcp.routing import Routing, ToolRouter
from app.services.tools.output import Content

# "auto", "required", "none", or the name of one offered tool.
ToolChoice = str
ResultStatus = Literal["ok", "error", "denied", "timeout"]


@dataclass(frozen=True)
class Token:
    """Text of the answer as it is generated (any round)."""

    text: str


@dataclass(frozen=True)
class ToolCallMade:
    """The model called a tool (``name`` as offered; ``tool`` the server's own name)."""

    id: str
    server: str
    tool: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ApprovalAsked:
    """A call waits for the user: ``approval_id`` is what the decision names."""

    id: str
    approval_id: str
    server: str
    tool: str
    arguments: str


@dataclass(frozen=True)
class ToolResult:
    """A call's outcome, as the model receives it (``content`` already cut to the budget)."""

    id: str
    server: str
    tool: str
    content: str
    status: ResultStatus
    duration_ms: float
    truncated: bool = False


@dataclass(frozen=True)
class Routed:
    """Tool routing chose what this turn offers (many tools enabled)."""

    routing: Routing


@dataclass(frozen=True)
class RoundDone:
    """One generation finished; ``answer`` is its parsed output."""

    answer: Answer


AgentEvent = Token | ToolCallMade | ApprovalAsked | ToolResult | Routed | RoundDone


@dataclass
class AgentTurn:
    """One chat turn with MCP tools: who generates, what was said, which servers."""

    model: str | None
    params: ParamsInput
    messages: list[ChatMessage]
    servers: list[str] | Literal["all"]
    tool_choice: ToolChoice | None = None
    max_steps: int | None = None
    backend: str | None = None
    allow_fallback: bool = False
    keep_alive: float | str | None = None
    # The client's own function tools, offered beside the MCP tools; a round that calls one
    # ends the turn (the client runs it), as in OpenAI's Responses API.
    extra_tools: tuple[ToolSpec, ...] = ()
    # Responses' approvals span requests: a call that needs approval ends the turn with an
    # approval request, and the next request carries the decision.
    defer_approvals: bool = False


def cut(text: str, budget: int) -> tuple[str, bool]:
    """``text`` within ``budget`` characters, with a note when it had to be cut."""
    if len(text) <= budget:
        return text, False
    return (
        text[:budget] + f"\n[result cut: {budget} of {len(text)} characters shown]",
        True,
    )


@dataclass
class AgentLoop:
    """Runs :class:`AgentTurn` values (see the module docstring)."""

    generation: GenerationService
    hub: McpHub
    approvals: Approvals
    settings: McpSettings
    router: ToolRouter | None = None

    async def tools(self, turn: AgentTurn) -> list[OfferedTool]:
        """The tools this turn offers (connecting to its servers). Called before a stream
        starts, so a server that cannot be reached is the response's error status."""
        offered = await self.hub.offered(self.hub.chosen(turn.servers))
        choice = turn.tool_choice
        if choice not in (None, "auto", "required", "none") and choice not in {
            o.name for o in offered
        }:
            raise InvalidRequest(
                f"tool_choice names '{choice}', which none of the chosen MCP servers offers "
                f"(offered: {', '.join(o.name for o in offered) or 'none'})",
                param="tool_choice",
            )
        return offered

    def _use(
        self, offered: list[OfferedTool], choice: ToolChoice | None, extra: tuple[ToolSpec, ...]
    ) -> ToolUse | None:
        specs = extra + tuple(
            ToolSpec(o.name, o.tool.description, json.dumps(o.tool.input_schema)) for o in offered
        )
        if not specs:
            return None
        if choice in (None, "auto", "required", "none"):
            return ToolUse(specs, choice=choice or "auto")  # type: ignore[arg-type]
        return ToolUse(specs, choice="function", function=choice)

    async def run(
        self,
        turn: AgentTurn,
        offered: list[OfferedTool],
        is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """The turn's events; ends after the answering round's :class:`RoundDone`. With
        ``is_disconnected`` (a non-streamed request's) each round is generated whole, without
        :class:`Token` events, and stops early when the client has left. ``turn.messages``
        grows with each round's calls and results (the transcript a caller may store)."""
        messages = turn.messages
        if self.router is not None:
            offered, routing = await self.router.route(
                turn.model, messages, offered, keep=turn.tool_choice
            )
            if routing is not None:
                yield Routed(routing)
        by_name = {o.name: o for o in offered}
        limit = min(turn.max_steps or self.settings.mcp_max_tool_steps, 64)
        for step in range(limit + 1):
            # The requested choice forces the first round only: forcing every round would
            # call tools until the limit.
            choice = turn.tool_choice if step == 0 else "auto"
            if step == limit:
                choice = "none"
            job = await self.generation.prepare(
                turn.model,
                turn.params,
                messages=messages,
                backend=turn.backend,
                allow_fallback=turn.allow_fallback,
                keep_alive=turn.keep_alive,
                tools=self._use(offered, choice, turn.extra_tools),
            )
            reading = Answering(self.generation, job, parse=True)
            if is_disconnected is not None:
                answer = await reading.complete(is_disconnected)
            else:
                async with aclosing(reading.steps()) as steps:
                    async for s in steps:
                        text = "".join(p.text for p in s.pieces if isinstance(p, Content))
                        if text:
                            yield Token(text)
                answer = reading.answer()
            yield RoundDone(answer)
            calls = [c for c in answer.calls if c.name in by_name]
            if not calls or choice == "none" or answer.outcome.finish_reason is None:
                return
            messages.append(ChatMessage("assistant", answer.content or "", tuple(answer.calls)))
            waiting = False
            for call in calls:
                async for item in self.call(call, by_name[call.name], turn.defer_approvals):
                    yield item
                    waiting = waiting or (turn.defer_approvals and isinstance(item, ApprovalAsked))
                    if isinstance(item, ToolResult):
                        messages.append(ChatMessage("tool", item.content, tool_call_id=call.id))
            # A call of the client's own tools, or one deferred for approval: the turn ends
            # here and the next request goes on from the transcript.
            if waiting or len(calls) < len(answer.calls):
                return

    async def call(
        self,
        call: ToolCall,
        offered: OfferedTool,
        defer: bool = False,
        approved: bool = False,
    ) -> AsyncGenerator[AgentEvent, None]:
        """One call: :class:`ToolCallMade`, the approval where its server asks for one
        (``defer``: only :class:`ApprovalAsked`, the decision comes with a later request;
        ``approved``: already given), then :class:`ToolResult`."""
        tool = offered.tool
        yield ToolCallMade(call.id, tool.server, tool.name, offered.name, call.arguments)
        started = time.perf_counter()

        def result(text: str, status: ResultStatus) -> ToolResult:
            content, truncated = cut(text, self.settings.mcp_tool_result_max_chars)
            elapsed = (time.perf_counter() - started) * 1000
            return ToolResult(
                call.id,
                tool.server,
                tool.name,
                content,
                status,
                elapsed,
                truncated,
            )

        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            yield result(f"Error: the arguments are not valid JSON ({exc.msg}).", "error")
            return
        if not isinstance(arguments, dict):
            yield result("Error: the arguments must be a JSON object.", "error")
            return
        if offered.approval == "ask" and defer and not approved:
            approval_id = "mcpr_" + uuid.uuid4().hex
            yield ApprovalAsked(call.id, approval_id, tool.server, tool.name, call.arguments)
            return
        if offered.approval == "ask" and not approved:
            approval_id, decision = self.approvals.open(current_identity())
            yield ApprovalAsked(call.id, approval_id, tool.server, tool.name, call.arguments)
            try:
                approved = await asyncio.wait_for(decision, self.settings.mcp_approval_timeout_s)
            except TimeoutError:
                approved = False
            finally:
                self.approvals.close(approval_id)
            if not approved:
                yield result("The user denied this tool call.", "denied")
                return
            started = time.perf_counter()
        try:
            text, is_error, _ = await offered.conn.call_tool(tool.name, arguments)
        except McpServerGone:
            raise
        except McpUnavailable as exc:
            timed_out = isinstance(exc, McpTimeout)
            yield result(f"Error: {exc.message}", "timeout" if timed_out else "error")
            return
        yield result(text, "error" if is_error else "ok")
