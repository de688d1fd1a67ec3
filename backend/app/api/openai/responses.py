"""``/v1/responses``: OpenAI's Responses API over the generation service, with stored
responses (``store``/``previous_response_id``) in the app database."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette import ServerSentEvent

from app.api.deps import GenerationDep
from app.api.sse import event, sse_response
from app.backends.base import ChatMessage
from app.core.errors import AppError, InvalidRequest
from app.schemas.common import error_responses
from app.schemas.responses import DeletedResponse, InputMessage, InputText, ResponseRequest
from app.services.generation import GenerationOutcome, ParamsInput
from app.services.responses_store import ResponsesStore

router = APIRouter(prefix="/responses", tags=["openai"])


def get_store(request: Request) -> ResponsesStore:
    return request.app.state.responses_store


StoreDep = Annotated[ResponsesStore, Depends(get_store)]


def _input(body: ResponseRequest) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """This turn's input as stored items (with ids) and as ``{role, content}`` turns."""
    if isinstance(body.input, str):
        messages = [InputMessage(role="user", content=body.input)]
    else:
        messages = []
        for i, item in enumerate(body.input):
            if not isinstance(item, InputMessage):
                raise InvalidRequest(
                    f"input[{i}]: items of type '{item.type}' are not supported by this "
                    "server (messages only).",
                    param=f"input[{i}].type",
                )
            messages.append(item)
    items, turns = [], []
    for i, message in enumerate(messages):
        if isinstance(message.content, str):
            text = message.content
        else:
            for j, part in enumerate(message.content):
                if not isinstance(part, InputText):
                    raise InvalidRequest(
                        f"input[{i}].content[{j}]: parts of type '{part.type}' are not "
                        "supported (text only).",
                        param=f"input[{i}].content[{j}].type",
                    )
            text = "".join(p.text for p in message.content if isinstance(p, InputText))
        kind = "output_text" if message.role == "assistant" else "input_text"
        items.append(
            {
                "id": f"msg_{uuid.uuid4().hex}",
                "type": "message",
                "role": message.role,
                "status": "completed",
                "content": [{"type": kind, "text": text}],
            }
        )
        turns.append({"role": message.role, "content": text})
    return items, turns


def _chat(instructions: str | None, turns: list[dict[str, str]]) -> list[ChatMessage]:
    roles = {"developer": "system"}
    out = [ChatMessage("system", instructions)] if instructions else []
    out += [
        ChatMessage(roles.get(t["role"], t["role"]), t["content"])  # type: ignore[arg-type]
        for t in turns
    ]
    return out


def _message(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content if text or status != "in_progress" else [],
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
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": u.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u.total_tokens,
        }
        if outcome.finish_reason == "length":
            incomplete = {"reason": "max_output_tokens"}
    fmt = (
        body.text.format.model_dump(by_alias=True, exclude_none=True)
        if body.text
        else {"type": "text"}
    )
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
        "parallel_tool_calls": False,
        "previous_response_id": body.previous_response_id,
        "store": body.store,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "text": {"format": fmt},
        "tool_choice": "auto",
        "tools": [],
        "truncation": "disabled",
        "usage": usage,
        "user": body.user,
    }


@router.post("", responses=error_responses(400, 404, 503), operation_id="openai-create_response")
async def create_response(
    body: ResponseRequest, generation: GenerationDep, store: StoreDep, request: Request
):
    """A model response (SSE events ending in response.completed when stream=true)."""
    if body.tools:
        raise InvalidRequest(
            "Tools on /v1/responses are not served by this server yet; use /v1/chat/completions.",
            param="tools",
        )
    items, turns = _input(body)
    history = store.history(body.previous_response_id) if body.previous_response_id else []
    try:
        schema = body.text.format.schema_text() if body.text else None
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="text.format") from None
    params = ParamsInput(
        max_tokens=body.max_output_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        json_schema=schema,
    )
    job = await generation.prepare(
        body.model, params, messages=_chat(body.instructions, history + turns), backend=body.backend
    )
    resp_id, item_id, created = f"resp_{job.request_id}", f"msg_{uuid.uuid4().hex}", time.time()

    def finish(outcome: GenerationOutcome) -> dict[str, Any]:
        status = "incomplete" if outcome.finish_reason == "length" else "completed"
        message = _message(item_id, outcome.text, status)
        done = _response(resp_id, body, created, status, [message], outcome)
        if body.store:
            answer = {"role": "assistant", "content": outcome.text}
            store.save(done, items, history + turns + [answer])
        return done

    if body.stream:
        return sse_response(_events(generation, job, body, resp_id, item_id, created, finish))
    outcome = await generation.run(job, request.is_disconnected)
    return finish(outcome)


async def _events(
    generation: GenerationDep,
    job,
    body: ResponseRequest,
    resp_id: str,
    item_id: str,
    created: float,
    finish,
) -> AsyncIterator[ServerSentEvent]:
    seq = 0

    def emit(kind: str, **data: Any) -> ServerSentEvent:
        nonlocal seq
        seq += 1
        return event({"type": kind, "sequence_number": seq - 1, **data}, kind)

    started = _response(resp_id, body, created, "in_progress", [])
    yield emit("response.created", response=started)
    yield emit("response.in_progress", response=started)
    yield emit(
        "response.output_item.added", output_index=0, item=_message(item_id, "", "in_progress")
    )
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    yield emit("response.content_part.added", **where, part=part)
    outcome = GenerationOutcome(job)
    try:
        async for item in generation.stream(job):
            outcome.add(item)
            if item.text:
                yield emit("response.output_text.delta", **where, delta=item.text, logprobs=[])
        done = finish(outcome)
    except AppError as exc:
        error = {"code": exc.code or exc.error_type, "message": exc.message}
        yield emit("error", code=error["code"], message=exc.message, param=exc.param)
        yield emit(
            "response.failed",
            response=_response(resp_id, body, created, "failed", [], outcome, error),
        )
        return
    text = outcome.text
    yield emit("response.output_text.done", **where, text=text, logprobs=[])
    yield emit("response.content_part.done", **where, part={**part, "text": text})
    yield emit("response.output_item.done", output_index=0, item=done["output"][0])
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
