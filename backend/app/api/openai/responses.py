"""``/v1/responses``: OpenAI's Responses API over the generation service, with stored
responses (``store``/``previous_response_id``) in the app database and function tools on
issue 14's tool machinery (``services/tools``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette import ServerSentEvent

from app.api.deps import GenerationDep
from app.api.sse import event, sse_response
from app.backends.types import ChatMessage, ToolCall, ToolCallDelta, ToolSpec, ToolUse
from app.core.errors import AppError, InvalidRequest
from app.schemas.common import error_responses
from app.schemas.responses import (
    DeletedResponse,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputMessage,
    InputText,
    ResponseRequest,
)
from app.services.generation import GenerationOutcome, ParamsInput, PreparedGeneration
from app.services.responses_store import ResponsesStore
from app.services.tools.output import Content, Piece

router = APIRouter(prefix="/responses", tags=["openai"])

Turn = dict[str, Any]  # {role, content, tool_calls?: [{id, name, arguments}], tool_call_id?}


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


def _input(body: ResponseRequest) -> tuple[list[dict[str, Any]], list[Turn]]:
    """This turn's input as stored items (with ids) and as conversation turns."""
    raw = (
        [InputMessage(role="user", content=body.input)]
        if isinstance(body.input, str)
        else body.input
    )
    items: list[dict[str, Any]] = []
    turns: list[Turn] = []
    for i, item in enumerate(raw):
        if isinstance(item, InputMessage):
            text = _text(item, i)
            kind = "output_text" if item.role == "assistant" else "input_text"
            items.append(
                {
                    "id": _new_id("msg"),
                    "type": "message",
                    "role": item.role,
                    "status": "completed",
                    "content": [{"type": kind, "text": text}],
                }
            )
            turns.append({"role": item.role, "content": text})
        elif isinstance(item, FunctionCallItem):
            call = {"id": item.call_id, "name": item.name, "arguments": item.arguments}
            items.append(
                {
                    "id": _new_id("fc"),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": item.call_id,
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
            # Consecutive calls belong to one assistant turn.
            if turns and turns[-1]["role"] == "assistant":
                turns[-1].setdefault("tool_calls", []).append(call)
            else:
                turns.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutputItem):
            items.append(
                {
                    "id": _new_id("fco"),
                    "type": "function_call_output",
                    "status": "completed",
                    "call_id": item.call_id,
                    "output": item.output,
                }
            )
            turns.append({"role": "tool", "content": item.output, "tool_call_id": item.call_id})
        else:
            raise InvalidRequest(
                f"input[{i}]: items of type '{item.type}' are not supported by this server.",
                param=f"input[{i}].type",
            )
    return items, turns


def _chat(instructions: str | None, turns: list[Turn]) -> list[ChatMessage]:
    roles: dict[str, Any] = {"developer": "system"}
    out = [ChatMessage("system", instructions)] if instructions else []
    for t in turns:
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in t.get("tool_calls", []))
        out.append(
            ChatMessage(
                roles.get(t["role"], t["role"]) or "user",
                t["content"],
                tool_calls=calls,
                tool_call_id=t.get("tool_call_id"),
            )
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


def _message(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content if status != "in_progress" else [],
    }


def _call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _response(
    resp_id: str,
    body: ResponseRequest,
    created: float,
    status: str,
    output: list[dict[str, Any]],
    outcome: GenerationOutcome | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    usage = None
    incomplete = None
    if outcome is not None:
        u = outcome.usage()
        usage = {
            "input_tokens": u.prompt_tokens,
            "input_tokens_details": {"cached_tokens": u.prompt_tokens_details.cached_tokens},
            "output_tokens": u.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u.total_tokens,
        }
        if status == "incomplete":
            incomplete = {"reason": "max_output_tokens"}
    fmt = (
        body.text.format.model_dump(by_alias=True, exclude_none=True)
        if body.text
        else {"type": "text"}
    )
    tools = [t.model_dump(exclude_none=True) for t in body.tools or []]
    choice = body.tool_choice
    return {
        "id": resp_id,
        "object": "response",
        "created_at": int(created),
        "model": body.model,
        "status": status,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "metadata": body.metadata or {},
        "output": output,
        "parallel_tool_calls": body.parallel_tool_calls,
        "previous_response_id": body.previous_response_id,
        "store": body.store,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "text": {"format": fmt},
        "tool_choice": choice.model_dump()
        if choice is not None and not isinstance(choice, str)
        else (choice or "auto"),
        "tools": tools,
        "truncation": "disabled",
        "usage": usage,
        "user": body.user,
    }


Finish = Callable[[GenerationOutcome, str, list[dict[str, Any]]], dict[str, Any]]


@router.post("", responses=error_responses(400, 404, 503), operation_id="openai-create_response")
async def create_response(
    body: ResponseRequest, generation: GenerationDep, store: StoreDep, request: Request
):
    """A model response (SSE events ending in response.completed when stream=true)."""
    items, turns = _input(body)
    history = store.history(body.previous_response_id) if body.previous_response_id else []
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

    def finish(
        outcome: GenerationOutcome, text: str, output: list[dict[str, Any]]
    ) -> dict[str, Any]:
        calls = [o for o in output if o["type"] == "function_call"]
        status = "incomplete" if outcome.finish_reason == "length" and not calls else "completed"
        for item in output:
            item["status"] = status if item["type"] == "message" else "completed"
        done = _response(resp_id, body, created, status, output, outcome)
        if body.store:
            answer: Turn = {"role": "assistant", "content": text}
            if calls:
                answer["tool_calls"] = [
                    {"id": c["call_id"], "name": c["name"], "arguments": c["arguments"]}
                    for c in calls
                ]
            store.save(done, items, history + turns + [answer])
        return done

    if body.stream:
        return sse_response(_events(generation, job, body, resp_id, created, finish))
    outcome = await generation.run(job, request.is_disconnected)
    parser = job.output.parser()
    for item in outcome.events:
        parser.feed_event(item)
    parser.finish()
    text = parser.content or ""
    output = [_message(_new_id("msg"), text, "completed")] if text or not parser.calls else []
    output += [_call_item(_new_id("fc"), c.id, c.name, c.arguments) for c in parser.calls]
    return finish(outcome, text, output)


class _Output:
    """Streams output items as the parser yields pieces: a message item opened on the first
    text, a function_call item per call with its arguments as deltas."""

    def __init__(self, emit: Callable[..., ServerSentEvent]) -> None:
        self.emit = emit
        self.items: list[dict[str, Any]] = []
        self.text = ""
        self._open: dict[str, Any] | None = None

    def _where(self) -> dict[str, Any]:
        assert self._open is not None
        return {"item_id": self._open["id"], "output_index": len(self.items) - 1}

    def _close(self) -> list[ServerSentEvent]:
        item, self._open = self._open, None
        if item is None:
            return []
        self._open = item
        where = self._where()
        self._open = None
        if item["type"] == "message":
            part = {"type": "output_text", "text": self.text, "annotations": [], "logprobs": []}
            item["content"] = [part]
            out = [
                self.emit(
                    "response.output_text.done",
                    **where,
                    content_index=0,
                    text=self.text,
                    logprobs=[],
                ),
                self.emit("response.content_part.done", **where, content_index=0, part=part),
            ]
        else:
            out = [
                self.emit(
                    "response.function_call_arguments.done",
                    **where,
                    arguments=item["arguments"],
                    name=item["name"],
                )
            ]
        item["status"] = "completed"
        out.append(
            self.emit("response.output_item.done", output_index=where["output_index"], item=item)
        )
        return out

    def feed(self, pieces: list[Piece]) -> list[ServerSentEvent]:
        out: list[ServerSentEvent] = []
        for piece in pieces:
            if isinstance(piece, Content) and piece.text:
                if self._open is None or self._open["type"] != "message":
                    out += self._close()
                    self._open = _message(_new_id("msg"), "", "in_progress")
                    self.items.append(self._open)
                    out.append(
                        self.emit(
                            "response.output_item.added",
                            output_index=len(self.items) - 1,
                            item=self._open,
                        )
                    )
                    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                    out.append(
                        self.emit(
                            "response.content_part.added",
                            **self._where(),
                            content_index=0,
                            part=part,
                        )
                    )
                self.text += piece.text
                out.append(
                    self.emit(
                        "response.output_text.delta",
                        **self._where(),
                        content_index=0,
                        delta=piece.text,
                        logprobs=[],
                    )
                )
            elif isinstance(piece, ToolCallDelta):
                if piece.id is not None:
                    out += self._close()
                    self._open = _call_item(
                        _new_id("fc"), piece.id, piece.name or "", "", "in_progress"
                    )
                    self.items.append(self._open)
                    out.append(
                        self.emit(
                            "response.output_item.added",
                            output_index=len(self.items) - 1,
                            item=dict(self._open),
                        )
                    )
                if piece.arguments and self._open is not None:
                    self._open["arguments"] += piece.arguments
                    out.append(
                        self.emit(
                            "response.function_call_arguments.delta",
                            **self._where(),
                            delta=piece.arguments,
                        )
                    )
        return out

    def end(self) -> list[ServerSentEvent]:
        out = self._close()
        if not self.items:  # nothing generated: one empty message, as a plain reply has
            self.items.append(_message(_new_id("msg"), "", "completed"))
        return out


async def _events(
    generation: GenerationDep,
    job: PreparedGeneration,
    body: ResponseRequest,
    resp_id: str,
    created: float,
    finish: Finish,
) -> AsyncIterator[ServerSentEvent]:
    seq = 0

    def emit(kind: str, **data: Any) -> ServerSentEvent:
        nonlocal seq
        seq += 1
        return event({"type": kind, "sequence_number": seq - 1, **data}, kind)

    started = _response(resp_id, body, created, "in_progress", [])
    yield emit("response.created", response=started)
    yield emit("response.in_progress", response=started)
    outcome = GenerationOutcome(job)
    parser = job.output.parser()
    output = _Output(emit)
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            for ev in output.feed(parser.feed_event(item)):
                yield ev
        for ev in output.feed(parser.finish()):
            yield ev
        closing = output.end()
        done = finish(outcome, output.text, output.items)
    except AppError as exc:
        error = {"code": exc.code or exc.error_type, "message": exc.message}
        yield emit("error", code=error["code"], message=exc.message, param=exc.param)
        yield emit(
            "response.failed",
            response=_response(resp_id, body, created, "failed", [], outcome, error),
        )
        return
    for ev in closing:
        yield ev
    # Also when status is "incomplete" (max_output_tokens reached): the SDK's stream helper
    # (responses.stream().get_final_response) reads the final object from this event only.
    yield emit("response.completed", response=done)


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
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }
