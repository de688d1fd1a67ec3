"""Remote MCP tools on the Responses API (``tools: [{"type": "mcp", ...}]``), as OpenAI
documents them, on the agent loop of ``services/mcp``.

Per request: each server is listed (an ``mcp_list_tools`` output item), its allowed tools are
offered beside the request's function tools, and every call the model makes of them runs here
(an ``mcp_call`` item with its output or error) until the model answers. A call that needs
approval (``require_approval``, ``"always"`` by default as at OpenAI) ends the response with
an ``mcp_approval_request`` item; the next request answers it with an
``mcp_approval_response`` input item and this response as ``previous_response_id``, and the
call runs then. The connections last for the request; ``server_url`` passes the download
address guard.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sse_starlette import ServerSentEvent

from app.api import sse
from app.api.openai.response_translate import Call, Turn, new_id, response_object
from app.backends.types import ChatMessage, ToolCall, ToolSpec
from app.core.config import McpSettings
from app.core.errors import AppError, InvalidRequest
from app.schemas.responses import (
    ArgumentsDone,
    ContentPartEvent,
    ErrorEvent,
    FunctionCallObject,
    FunctionTool,
    InputTokensDetails,
    ItemText,
    McpApprovalRequestItem,
    McpApprovalRequestObject,
    McpApprovalResponseItem,
    McpArgumentsDone,
    McpCallObject,
    McpItemEvent,
    McpListToolsObject,
    McpTool,
    MessageObject,
    NamedFunction,
    NamedMcpTool,
    OutputItem,
    OutputItemEvent,
    OutputText,
    OutputTextDelta,
    OutputTextDone,
    ResponseError,
    ResponseLifecycleEvent,
    ResponseObject,
    ResponseRequest,
    ResponseUsage,
    StreamEvent,
)
from app.services.generation import ParamsInput
from app.services.mcp import AgentLoop, AgentTurn
from app.services.mcp.agent import (
    ApprovalAsked,
    RoundDone,
    Token,
    ToolCallMade,
    ToolResult,
)
from app.services.mcp.config import McpServerConfig
from app.services.mcp.connection import McpConnection
from app.services.mcp.hub import OfferedTool, offer

# An approval request's id names the call it holds, so the next request can find the call in
# the stored transcript (its arguments come from there, never from the client).
_APPROVAL_PREFIX = "mcpr_"


def mcp_servers(body: ResponseRequest) -> list[McpTool]:
    return [t for t in body.tools or [] if isinstance(t, McpTool)]


def _connections(servers: list[McpTool], settings: McpSettings) -> dict[str, McpConnection]:
    labels = [t.server_label for t in servers]
    if len(set(labels)) != len(labels):
        raise InvalidRequest("Each mcp tool needs its own server_label.", param="tools")
    return {
        t.server_label: McpConnection(
            t.server_label,
            McpServerConfig(url=t.server_url, headers=t.headers or {}),
            connect_timeout=settings.mcp_connect_timeout_s,
            call_timeout=settings.mcp_call_timeout_s,
            allow_private=settings.mcp_allow_private_urls,
        )
        for t in servers
    }


def _choice(body: ResponseRequest, offered: list[OfferedTool]) -> str | None:
    choice = body.tool_choice
    if choice is None or isinstance(choice, str):
        return choice
    if isinstance(choice, NamedFunction):
        return choice.name
    assert isinstance(choice, NamedMcpTool)
    if choice.name is None:
        return "required"
    for o in offered:
        if o.tool.server == choice.server_label and o.tool.name == choice.name:
            return o.name
    raise InvalidRequest(
        f"tool_choice names '{choice.name}' on '{choice.server_label}', which is not offered.",
        param="tool_choice",
    )


def _turns(messages: list[ChatMessage]) -> list[Turn]:
    out: list[Turn] = []
    for m in messages:
        turn: Turn = {"role": m.role, "content": m.content}
        if m.tool_calls:
            turn["tool_calls"] = [
                cast(Call, {"id": c.id, "name": c.name, "arguments": c.arguments})
                for c in m.tool_calls
            ]
        if m.tool_call_id:
            turn["tool_call_id"] = m.tool_call_id
        out.append(turn)
    return out


def _held_call(messages: list[ChatMessage], approval_id: str) -> ToolCall:
    """The call an approval request holds, from the transcript."""
    call_id = approval_id.removeprefix(_APPROVAL_PREFIX)
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    for m in messages:
        for c in m.tool_calls:
            if c.id == call_id and c.id not in answered and approval_id != call_id:
                return c
    raise InvalidRequest(
        f"No tool call waits for approval '{approval_id}' in this conversation (give the "
        "response that asked as previous_response_id).",
        param="input",
    )


@dataclass
class McpResponse:
    """One Responses request with MCP tools, answered whole (see the module docstring)."""

    body: ResponseRequest
    agent: AgentLoop
    settings: McpSettings
    params: ParamsInput
    messages: list[ChatMessage]
    output: list[OutputItem] = field(default_factory=list)
    usage: list[int] = field(default_factory=lambda: [0, 0, 0])  # input, cached, output
    last: RoundDone | None = None  # the turn's last round
    recorded: bool = False  # whether the loop stored that round's message in the transcript

    async def run(
        self,
        resp_id: str,
        created: float,
        is_disconnected: Callable[[], Awaitable[bool]],
    ) -> tuple[ResponseObject, list[Turn]]:
        """The response object, and the transcript to store for the next turn."""
        conns = _connections(mcp_servers(self.body), self.settings)
        try:
            turn, offered = await self._prepare(conns)
            async for _ in self._loop(turn, offered, is_disconnected):
                pass
        finally:
            for conn in conns.values():
                await conn.close()
        return self._finish(resp_id, created)

    async def events(
        self, resp_id: str, created: float, save: Callable[[ResponseObject, list[Turn]], None]
    ) -> AsyncIterator[ServerSentEvent]:
        """The same response streamed: its lifecycle events, each output item as it is made
        (``output_item.added``, its own events, ``output_item.done``; the answer's text as
        ``output_text.delta`` events), then ``response.completed`` (``save`` stores it), or
        ``error`` and ``response.failed``."""
        out = _ItemEvents(self, resp_id, created)
        yield out.lifecycle("response.created")
        yield out.lifecycle("response.in_progress")
        conns = _connections(mcp_servers(self.body), self.settings)
        try:
            turn, offered = await self._prepare(conns)
            for item in out.new_items():
                yield item
            async for text in self._loop(turn, offered, None):
                if text is None:  # items were added (a call, an approval request)
                    for item in out.new_items():
                        yield item
                else:
                    for item in out.text(text):
                        yield item
            done, transcript = self._finish(resp_id, created, streamed=out.streamed_text)
        except AppError as exc:
            for item in out.failed(exc):
                yield item
            return
        finally:
            for conn in conns.values():
                await conn.close()
        for item in out.new_items():
            yield item
        save(done, transcript)
        yield out.lifecycle("response.completed", done)

    async def _prepare(
        self, conns: dict[str, McpConnection]
    ) -> tuple[AgentTurn, list[OfferedTool]]:
        """List the servers' tools, run the calls this request approves, and the turn."""
        offered = await self._list(mcp_servers(self.body), conns)
        await self._decisions(offered)
        functions = tuple(
            ToolSpec(t.name, t.description or "", json.dumps(t.parameters))
            for t in self.body.tools or []
            if isinstance(t, FunctionTool)
        )
        turn = AgentTurn(
            model=self.body.model,
            params=self.params,
            messages=self.messages,
            servers=[],
            tool_choice=_choice(self.body, offered),
            backend=self.body.backend,
            extra_tools=functions,
            defer_approvals=True,
        )
        return turn, offered

    async def _list(
        self, servers: list[McpTool], conns: dict[str, McpConnection]
    ) -> list[OfferedTool]:
        listed: list[tuple[Any, Literal["auto", "ask"]]] = []
        for server in servers:
            tools = await conns[server.server_label].tools()
            allowed = [t for t in tools if server.allows(t.name)]
            self.output.append(
                McpListToolsObject(
                    id=new_id("mcpl"),
                    server_label=server.server_label,
                    tools=[
                        {
                            "name": t.name,
                            "description": t.description,
                            "input_schema": t.input_schema,
                            "annotations": None,
                        }
                        for t in allowed
                    ],
                )
            )
            listed += [(t, "ask" if server.asks(t.name) else "auto") for t in allowed]
        return offer(listed, conns)

    async def _decisions(self, offered: list[OfferedTool]) -> None:
        """Run (or deny) the calls this request's approval responses decide."""
        raw = self.body.input if isinstance(self.body.input, list) else []
        for item in raw:
            if isinstance(item, McpApprovalRequestItem):
                continue  # the transcript, not the client, says what the call was
            if not isinstance(item, McpApprovalResponseItem):
                continue
            call = _held_call(self.messages, item.approval_request_id)
            tool = next((o for o in offered if o.name == call.name), None)
            if tool is None:
                raise InvalidRequest(
                    f"The approved call's tool '{call.name}' is not among this request's mcp "
                    "tools.",
                    param="tools",
                )
            if not item.approve:
                denied = "The user denied this tool call."
                if item.reason:
                    denied += f" Reason: {item.reason}"
                self.messages.append(ChatMessage("tool", denied, tool_call_id=call.id))
                continue
            async for event in self.agent.call(call, tool, approved=True):
                if isinstance(event, ToolResult):
                    self._record(call, tool, event, item.approval_request_id)

    def _record(
        self, call: ToolCall, tool: OfferedTool, result: ToolResult, approval: str | None
    ) -> None:
        ok = result.status == "ok"
        self.output.append(
            McpCallObject(
                id=new_id("mcp"),
                server_label=tool.tool.server,
                name=tool.tool.name,
                arguments=call.arguments,
                output=result.content if ok else None,
                error=None if ok else result.content,
                approval_request_id=approval,
            )
        )
        self.messages.append(ChatMessage("tool", result.content, tool_call_id=call.id))

    async def _loop(
        self,
        turn: AgentTurn,
        offered: list[OfferedTool],
        is_disconnected: Callable[[], Awaitable[bool]] | None,
    ) -> AsyncIterator[str | None]:
        """Run the turn: the answer's text as it comes (streamed rounds), None after each item
        added to the output; ``self.last`` and ``self.recorded`` hold how it ended."""
        by_id: dict[str, ToolCallMade] = {}
        size_at_last = 0
        async for event in self.agent.run(turn, offered, is_disconnected):
            if isinstance(event, Token):
                yield event.text
            elif isinstance(event, RoundDone):
                self.last, size_at_last = event, len(self.messages)
                usage = event.answer.outcome.usage()
                self.usage[0] += usage.prompt_tokens
                self.usage[1] += usage.prompt_tokens_details.cached_tokens
                self.usage[2] += usage.completion_tokens
            elif isinstance(event, ToolCallMade):
                by_id[event.id] = event
            elif isinstance(event, ToolResult):
                made = by_id[event.id]
                ok = event.status == "ok"
                self.output.append(
                    McpCallObject(
                        id=new_id("mcp"),
                        server_label=event.server,
                        name=event.tool,
                        arguments=made.arguments,
                        output=event.content if ok else None,
                        error=None if ok else event.content,
                    )
                )
                yield None
            elif isinstance(event, ApprovalAsked):
                self.output.append(
                    McpApprovalRequestObject(
                        id=_APPROVAL_PREFIX + event.id,
                        server_label=event.server,
                        name=event.tool,
                        arguments=event.arguments,
                    )
                )
                yield None
        # The loop appends a round's assistant message only when it went on to call tools.
        self.recorded = len(self.messages) > size_at_last

    def _finish(
        self, resp_id: str, created: float, streamed: bool = False
    ) -> tuple[ResponseObject, list[Turn]]:
        """The response object and the transcript (``streamed``: the answer's text is already
        an output item)."""
        assert self.last is not None
        answer = self.last.answer
        text = answer.content or ""
        functions = {t.name for t in self.body.tools or [] if isinstance(t, FunctionTool)}
        client_calls = [c for c in answer.calls if c.name in functions]
        waiting = any(isinstance(o, McpApprovalRequestObject) for o in self.output)
        if not self.recorded:
            self.messages.append(ChatMessage("assistant", text, tuple(client_calls)))
        if not streamed and (text or not (client_calls or waiting)):
            content: list[OutputText | ItemText] = [OutputText(text=text)]
            self.output.append(MessageObject(id=new_id("msg"), status="completed", content=content))
        self.output += [
            FunctionCallObject(id=new_id("fc"), call_id=c.id, name=c.name, arguments=c.arguments)
            for c in client_calls
        ]
        length = answer.outcome.finish_reason == "length"
        status: Literal["completed", "incomplete"] = (
            "incomplete" if length and not (client_calls or waiting) else "completed"
        )
        for item in self.output:
            if isinstance(item, MessageObject):
                item.status = status
        done = response_object(resp_id, self.body, created, status, self.output, answer)
        done.usage = ResponseUsage(
            input_tokens=self.usage[0],
            input_tokens_details=InputTokensDetails(cached_tokens=self.usage[1]),
            output_tokens=self.usage[2],
            total_tokens=self.usage[0] + self.usage[2],
        )
        said = self.messages[1:] if self.body.instructions else self.messages
        return done, _turns(said)


class _ItemEvents:
    """The stream events of an :class:`McpResponse`: each item of its output once it is
    complete (``output_item.added``, the item's own events, ``output_item.done``), except the
    answer's message, opened on its first text and closed when another item follows."""

    def __init__(self, turn: McpResponse, resp_id: str, created: float) -> None:
        self.turn = turn
        self.resp_id = resp_id
        self.created = created
        self.sent = 0  # output items already sent
        self.seq = 0
        self.message: MessageObject | None = None
        self.streamed_text = False

    def _event(self, data: StreamEvent) -> ServerSentEvent:
        return sse.event(data, data.type)

    def _next(self) -> int:
        self.seq += 1
        return self.seq - 1

    def lifecycle(self, kind: str, response: ResponseObject | None = None) -> ServerSentEvent:
        if response is None:
            response = response_object(
                self.resp_id, self.turn.body, self.created, "in_progress", []
            )
        return self._event(
            ResponseLifecycleEvent(type=kind, sequence_number=self._next(), response=response)
        )

    def _item(self, kind: str, index: int) -> ServerSentEvent:
        return self._event(
            OutputItemEvent(
                type=f"response.output_item.{kind}",
                sequence_number=self._next(),
                output_index=index,
                item=self.turn.output[index],
            )
        )

    def text(self, text: str) -> list[ServerSentEvent]:
        out = []
        if self.message is None:
            out += self.new_items()
            self.message = MessageObject(id=new_id("msg"), status="in_progress")
            self.turn.output.append(self.message)
            self.sent = len(self.turn.output)
            out.append(self._item("added", self.sent - 1))
            part = ContentPartEvent(
                type="response.content_part.added",
                sequence_number=self._next(),
                item_id=self.message.id,
                output_index=self.sent - 1,
                part=OutputText(text=""),
            )
            out.append(self._event(part))
        self.streamed_text = True
        index = self.turn.output.index(self.message)
        current = self.message.content[0].text if self.message.content else ""
        self.message.content = [OutputText(text=current + text)]
        delta = OutputTextDelta(
            sequence_number=self._next(), item_id=self.message.id, output_index=index, delta=text
        )
        return [*out, self._event(delta)]

    def _close_message(self) -> list[ServerSentEvent]:
        message, self.message = self.message, None
        if message is None:
            return []
        index = self.turn.output.index(message)
        text = message.content[0].text if message.content else ""
        message.status = "completed"
        where: dict[str, Any] = {"item_id": message.id, "output_index": index}
        return [
            self._event(OutputTextDone(sequence_number=self._next(), **where, text=text)),
            self._event(
                ContentPartEvent(
                    type="response.content_part.done",
                    sequence_number=self._next(),
                    **where,
                    part=OutputText(text=text),
                )
            ),
            self._item("done", index),
        ]

    def new_items(self) -> list[ServerSentEvent]:
        """Events for the items added since the last call (the open message closes first)."""
        out = self._close_message()
        while self.sent < len(self.turn.output):
            index = self.sent
            self.sent += 1
            item = self.turn.output[index]
            if isinstance(item, MessageObject):
                continue  # the streamed message is sent as it grows
            out.append(self._item("added", index))
            where: dict[str, Any] = {
                "sequence_number": 0,
                "item_id": item.id,
                "output_index": index,
            }
            own: list[StreamEvent] = []
            if isinstance(item, McpListToolsObject):
                own = [
                    McpItemEvent(type="response.mcp_list_tools.in_progress", **where),
                    McpItemEvent(type="response.mcp_list_tools.completed", **where),
                ]
            elif isinstance(item, McpCallObject):
                ending = "failed" if item.error is not None else "completed"
                own = [
                    McpItemEvent(type="response.mcp_call.in_progress", **where),
                    McpArgumentsDone(**where, arguments=item.arguments),
                    McpItemEvent(type=f"response.mcp_call.{ending}", **where),
                ]
            elif isinstance(item, FunctionCallObject):
                own = [ArgumentsDone(**where, arguments=item.arguments, name=item.name)]
            for e in own:
                e.sequence_number = self._next()
                out.append(self._event(e))
            out.append(self._item("done", index))
        return out

    def failed(self, exc: AppError) -> list[ServerSentEvent]:
        error = ResponseError(code=exc.code or exc.error_type, message=exc.message)
        failed = ErrorEvent(
            sequence_number=self._next(), code=error.code, message=exc.message, param=exc.param
        )
        response = response_object(
            self.resp_id, self.turn.body, self.created, "failed", self.turn.output, None, error
        )
        return [self._event(failed), self.lifecycle("response.failed", response)]
