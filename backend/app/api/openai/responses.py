"""``/v1/responses``: OpenAI's Responses API over the generation service, with stored
responses (``store``/``previous_response_id``) in the app database and function tools on
issue 14's tool machinery (``services/tools``). Types: ``schemas/responses.py``; the stream's
events: ``response_events.py``."""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any, Literal, NotRequired, TypedDict, cast

from fastapi import APIRouter, Depends, Request

from app.api import serving
from app.api.deps import GenerationDep
from app.api.openai.response_events import ResponseEvents
from app.api.sse import sse_response
from app.backends.base import ChatMessage, Role, ToolCall, ToolSpec, ToolUse
from app.core.errors import InvalidRequest
from app.schemas.common import error_responses
from app.schemas.responses import (
    DeletedResponse,
    FunctionCallItem,
    FunctionCallObject,
    FunctionCallOutputItem,
    FunctionCallOutputObject,
    IncompleteDetails,
    InputItemList,
    InputMessage,
    InputText,
    InputTokensDetails,
    ItemText,
    MessageObject,
    OutputItem,
    OutputText,
    ResponseError,
    ResponseObject,
    ResponseRequest,
    ResponseStatus,
    ResponseUsage,
    StoredInputItem,
)
from app.services.answering import Answer
from app.services.generation import ParamsInput
from app.services.responses_store import ResponsesStore

router = APIRouter(prefix="/responses", tags=["openai"])


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


def get_store(request: Request) -> ResponsesStore:
    return request.app.state.responses_store


StoreDep = Annotated[ResponsesStore, Depends(get_store)]


def _new_id(prefix: str) -> str:
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


def _input(body: ResponseRequest) -> tuple[list[StoredInputItem], list[Turn]]:
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
                MessageObject(
                    id=_new_id("msg"), role=item.role, status="completed", content=content
                )
            )
            turns.append({"role": item.role, "content": text})
        elif isinstance(item, FunctionCallItem):
            call: Call = {"id": item.call_id, "name": item.name, "arguments": item.arguments}
            items.append(
                FunctionCallObject(
                    id=_new_id("fc"), call_id=item.call_id, name=item.name, arguments=item.arguments
                )
            )
            # Consecutive calls belong to one assistant turn.
            if turns and turns[-1]["role"] == "assistant":
                turns[-1].setdefault("tool_calls", []).append(call)
            else:
                turns.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutputItem):
            items.append(
                FunctionCallOutputObject(
                    id=_new_id("fco"), call_id=item.call_id, output=item.output
                )
            )
            turns.append({"role": "tool", "content": item.output, "tool_call_id": item.call_id})
        else:
            raise InvalidRequest(
                f"input[{i}]: items of type '{item.type}' are not supported by this server.",
                param=f"input[{i}].type",
            )
    return items, turns


def _chat(instructions: str | None, turns: list[Turn]) -> list[ChatMessage]:
    roles: dict[str, Role] = {"developer": "system"}
    out = [ChatMessage("system", instructions)] if instructions else []
    for t in turns:
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in t.get("tool_calls", []))
        role: Any = roles.get(t["role"], t["role"]) or "user"  # a Role: the schema's Literal
        out.append(
            ChatMessage(role, t["content"], tool_calls=calls, tool_call_id=t.get("tool_call_id"))
        )
    return out


def _tool_use(body: ResponseRequest) -> ToolUse | None:
    choice = body.tool_choice
    if not body.tools:
        if choice not in (None, "none", "auto"):
            raise InvalidRequest("tool_choice needs tools.", param="tool_choice")
        return None
    specs = tuple(
        ToolSpec(t.name, t.description or "", json.dumps(t.parameters)) for t in body.tools
    )
    if choice is None or isinstance(choice, str):
        return ToolUse(specs, choice or "auto", parallel=body.parallel_tool_calls)
    if choice.name not in {t.name for t in body.tools}:
        raise InvalidRequest(
            "tool_choice.name must name one of the tools.", param="tool_choice.name"
        )
    return ToolUse(specs, "function", choice.name, parallel=body.parallel_tool_calls)


# Request fields the response object repeats as they were sent.
_ECHOED = {"model", "instructions", "max_output_tokens", "store", "temperature", "top_p", "user"}
_ECHOED |= {"parallel_tool_calls", "previous_response_id"}


def _response(
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


@router.post("", responses=error_responses(400, 404, 503), operation_id="openai-create_response")
async def create_response(
    body: ResponseRequest, generation: GenerationDep, store: StoreDep, request: Request
):
    """A model response (SSE events ending in response.completed when stream=true)."""
    items, turns = _input(body)
    # The store keeps turns as the JSON this module wrote.
    history = (
        cast(list[Turn], store.history(body.previous_response_id))
        if body.previous_response_id
        else []
    )
    try:
        schema = body.text.format.schema_text() if body.text else None
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="text.format") from None
    params = ParamsInput.from_request(
        body,
        max_tokens=body.max_output_tokens,
        json_schema=schema,
        json_schema_param="text.format",
    )
    job = await generation.prepare(
        body.model,
        params,
        messages=_chat(body.instructions, history + turns),
        backend=body.backend,
        tools=_tool_use(body),
    )
    resp_id, created = f"resp_{job.request_id}", time.time()

    def build(
        status: ResponseStatus,
        output: list[OutputItem],
        answer: Answer | None,
        error: ResponseError | None,
    ) -> ResponseObject:
        return _response(resp_id, body, created, status, output, answer, error)

    def finish(answer: Answer, text: str, output: list[OutputItem]) -> ResponseObject:
        calls = [o for o in output if isinstance(o, FunctionCallObject)]
        length = answer.outcome.finish_reason == "length"
        status: Literal["incomplete", "completed"] = (
            "incomplete" if length and not calls else "completed"
        )
        for item in output:
            item.status = status if isinstance(item, MessageObject) else "completed"
        done = build(status, output, answer, None)
        if body.store:
            said: Turn = {"role": "assistant", "content": text}
            if calls:
                said["tool_calls"] = [
                    {"id": c.call_id, "name": c.name, "arguments": c.arguments} for c in calls
                ]
            store.save(
                done.model_dump(mode="json"),
                [i.model_dump(mode="json") for i in items],
                cast(list[dict[str, str]], [*history, *turns, said]),
            )
        return done

    if body.stream:
        return sse_response(serving.stream(generation, job, ResponseEvents(build, finish, _new_id)))
    answer = await serving.complete(generation, job, request.is_disconnected)
    text = answer.content or ""
    output: list[OutputItem] = []
    if text or not answer.calls:
        message = MessageObject(
            id=_new_id("msg"), status="completed", content=[OutputText(text=text)]
        )
        output.append(message)
    output += [
        FunctionCallObject(id=_new_id("fc"), call_id=c.id, name=c.name, arguments=c.arguments)
        for c in answer.calls
    ]
    return finish(answer, text, output).model_dump(mode="json")


@router.get("/{response_id}", responses=error_responses(404), operation_id="openai-get_response")
async def get_response(response_id: str, store: StoreDep) -> dict[str, Any]:
    """A stored response."""
    return store.get(response_id)


@router.delete(
    "/{response_id}",
    response_model=DeletedResponse,
    responses=error_responses(404),
    operation_id="openai-delete_response",
)
async def delete_response(response_id: str, store: StoreDep) -> DeletedResponse:
    """Forget a stored response (later turns that named it can no longer continue from it)."""
    store.delete(response_id)
    return DeletedResponse(id=response_id)


@router.get(
    "/{response_id}/input_items",
    responses=error_responses(404),
    operation_id="openai-list_response_input_items",
)
async def list_input_items(response_id: str, store: StoreDep) -> dict[str, Any]:
    """The input items of a stored response (newest first, as OpenAI lists them)."""
    data = list(reversed(store.input_items(response_id)))
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return InputItemList(data=data, first_id=first, last_id=last).model_dump()
