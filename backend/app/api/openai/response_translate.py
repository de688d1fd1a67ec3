"""The Responses API's input items to internal chat messages and tools, and the response
object around an answer (types: ``schemas/responses.py``)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal, NotRequired, TypedDict

from app.backends.types import ChatMessage, Role, ToolCall, ToolSpec, ToolUse
from app.core.errors import InvalidRequest
from app.schemas.responses import (
    FunctionCallItem,
    FunctionCallObject,
    FunctionCallOutputItem,
    FunctionCallOutputObject,
    FunctionTool,
    IncompleteDetails,
    InputMessage,
    InputText,
    InputTokensDetails,
    ItemText,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    MessageObject,
    NamedFunction,
    OutputItem,
    OutputText,
    ResponseError,
    ResponseObject,
    ResponseRequest,
    ResponseStatus,
    ResponseUsage,
    StoredInputItem,
)
from app.services.generation.answering import Answer


class Call(TypedDict):
    id: str
    name: str
    arguments: str


class Turn(TypedDict):
    """One conversation turn as stored with a response (the history of the next turn)."""

    role: str
    content: str
    tool_calls: NotRequired[list[Call]]
    tool_call_id: NotRequired[str]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _text(message: InputMessage, i: int) -> str:
    if isinstance(message.content, str):
        return message.content
    for j, part in enumerate(message.content):
        if not isinstance(part, InputText):
            raise InvalidRequest(
                f"input[{i}].content[{j}]: parts of type '{part.type}' are not supported "
                "(text only).",
                param=f"input[{i}].content[{j}].type",
            )
    return "".join(p.text for p in message.content if isinstance(p, InputText))


def input_items(body: ResponseRequest) -> tuple[list[StoredInputItem], list[Turn]]:
    """This turn's input as stored items (with ids) and as conversation turns."""
    raw = (
        [InputMessage(role="user", content=body.input)]
        if isinstance(body.input, str)
        else body.input
    )
    items: list[StoredInputItem] = []
    turns: list[Turn] = []
    for i, item in enumerate(raw):
        if isinstance(item, InputMessage):
            text = _text(item, i)
            kind: Literal["input_text", "output_text"] = (
                "output_text" if item.role == "assistant" else "input_text"
            )
            content: list[OutputText | ItemText] = [ItemText(type=kind, text=text)]
            items.append(
                MessageObject(id=new_id("msg"), role=item.role, status="completed", content=content)
            )
            turns.append({"role": item.role, "content": text})
        elif isinstance(item, FunctionCallItem):
            call: Call = {"id": item.call_id, "name": item.name, "arguments": item.arguments}
            items.append(
                FunctionCallObject(
                    id=new_id("fc"), call_id=item.call_id, name=item.name, arguments=item.arguments
                )
            )
            # Consecutive calls belong to one assistant turn.
            if turns and turns[-1]["role"] == "assistant":
                turns[-1].setdefault("tool_calls", []).append(call)
            else:
                turns.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif isinstance(item, (McpApprovalResponseItem, McpApprovalRequestItem)):
            continue  # decisions on MCP calls: response_mcp.py reads them
        elif isinstance(item, FunctionCallOutputItem):
            items.append(
                FunctionCallOutputObject(id=new_id("fco"), call_id=item.call_id, output=item.output)
            )
            turns.append({"role": "tool", "content": item.output, "tool_call_id": item.call_id})
        else:
            raise InvalidRequest(
                f"input[{i}]: items of type '{item.type}' are not supported by this server.",
                param=f"input[{i}].type",
            )
    return items, turns


def chat_messages(instructions: str | None, turns: list[Turn]) -> list[ChatMessage]:
    roles: dict[str, Role] = {"developer": "system"}
    out = [ChatMessage("system", instructions)] if instructions else []
    for t in turns:
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in t.get("tool_calls", []))
        role: Any = roles.get(t["role"], t["role"]) or "user"  # a Role: the schema's Literal
        out.append(
            ChatMessage(role, t["content"], tool_calls=calls, tool_call_id=t.get("tool_call_id"))
        )
    return out


def tool_use(body: ResponseRequest) -> ToolUse | None:
    choice = body.tool_choice
    functions = [t for t in body.tools or [] if isinstance(t, FunctionTool)]
    if not functions:
        if choice not in (None, "none", "auto"):
            raise InvalidRequest("tool_choice needs tools.", param="tool_choice")
        return None
    specs = tuple(
        ToolSpec(t.name, t.description or "", json.dumps(t.parameters)) for t in functions
    )
    if choice is None or isinstance(choice, str):
        return ToolUse(specs, choice or "auto", parallel=body.parallel_tool_calls)
    if not isinstance(choice, NamedFunction) or choice.name not in {t.name for t in functions}:
        raise InvalidRequest(
            "tool_choice.name must name one of the tools.", param="tool_choice.name"
        )
    return ToolUse(specs, "function", choice.name, parallel=body.parallel_tool_calls)


# Request fields the response object repeats as they were sent.
_ECHOED = {"model", "instructions", "max_output_tokens", "store", "temperature", "top_p", "user"}
_ECHOED |= {"parallel_tool_calls", "previous_response_id"}


def response_object(
    resp_id: str,
    body: ResponseRequest,
    created: float,
    status: ResponseStatus,
    output: list[OutputItem],
    answer: Answer | None = None,
    error: ResponseError | None = None,
) -> ResponseObject:
    """The response object: the request's settings echoed around status, output and usage."""
    usage = None
    if answer is not None:
        u = answer.outcome.usage()
        usage = ResponseUsage(
            input_tokens=u.prompt_tokens,
            input_tokens_details=InputTokensDetails(
                cached_tokens=u.prompt_tokens_details.cached_tokens
            ),
            output_tokens=u.completion_tokens,
            total_tokens=u.total_tokens,
        )
    fmt = (
        body.text.format.model_dump(by_alias=True, exclude_none=True)
        if body.text
        else {"type": "text"}
    )
    choice = body.tool_choice
    return ResponseObject(
        id=resp_id,
        created_at=int(created),
        status=status,
        error=error,
        incomplete_details=IncompleteDetails() if status == "incomplete" else None,
        metadata=body.metadata or {},
        output=output,
        text={"format": fmt},
        tool_choice=choice.model_dump()
        if choice is not None and not isinstance(choice, str)
        else (choice or "auto"),
        tools=[t.model_dump(exclude_none=True) for t in body.tools or []],
        usage=usage,
        **body.model_dump(include=_ECHOED),
    )


def whole_output(text: str, answer: Answer) -> list[OutputItem]:
    """The output items of a non-streamed answer: its message (also when empty, unless it only
    called tools), then its calls."""
    output: list[OutputItem] = []
    if text or not answer.calls:
        content: list[OutputText | ItemText] = [OutputText(text=text)]
        output.append(MessageObject(id=new_id("msg"), status="completed", content=content))
    output += [
        FunctionCallObject(id=new_id("fc"), call_id=c.id, name=c.name, arguments=c.arguments)
        for c in answer.calls
    ]
    return output
