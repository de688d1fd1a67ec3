"""``/v1/responses``: OpenAI's Responses API over the generation service, with stored
responses (``store``/``previous_response_id``) in the app database and function tools on
issue 14's tool machinery (``services/tools``). Translation: ``response_translate.py``; the
stream's events: ``response_events.py``; types: ``schemas/responses.py``."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request

from app.api import serving
from app.api.deps import AgentDep, GenerationDep, SettingsDep
from app.api.openai.response_events import ResponseEvents
from app.api.openai.response_mcp import McpResponse, mcp_servers
from app.api.openai.response_translate import (
    Turn,
    chat_messages,
    input_items,
    new_id,
    response_object,
    tool_use,
    whole_output,
)
from app.api.sse import sse_response
from app.core.config import McpSettings
from app.core.errors import InvalidRequest
from app.schemas.common import error_responses
from app.schemas.responses import (
    DeletedResponse,
    FunctionCallObject,
    InputItemList,
    MessageObject,
    OutputItem,
    ResponseError,
    ResponseObject,
    ResponseRequest,
    ResponseStatus,
    StoredInputItem,
)
from app.services.generation import ParamsInput
from app.services.generation.answering import Answer
from app.services.mcp import AgentLoop
from app.services.responses_store import ResponsesStore

router = APIRouter(prefix="/responses", tags=["openai"])


def get_store(request: Request) -> ResponsesStore:
    return request.app.state.responses_store


StoreDep = Annotated[ResponsesStore, Depends(get_store)]


@router.post(
    "", responses=error_responses(400, 404, 424, 503), operation_id="openai-create_response"
)
async def create_response(
    body: ResponseRequest,
    generation: GenerationDep,
    agent: AgentDep,
    settings: SettingsDep,
    store: StoreDep,
    request: Request,
):
    """A model response (SSE events ending in response.completed when stream=true)."""
    items, turns = input_items(body)
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
    if mcp_servers(body):
        return await _with_mcp(body, agent, settings, store, params, history, turns, items, request)
    job = await generation.prepare(
        body.model,
        params,
        messages=chat_messages(body.instructions, history + turns),
        backend=body.backend,
        tools=tool_use(body),
    )
    resp_id, created = f"resp_{job.request_id}", time.time()

    def build(
        status: ResponseStatus,
        output: list[OutputItem],
        answer: Answer | None,
        error: ResponseError | None,
    ) -> ResponseObject:
        return response_object(resp_id, body, created, status, output, answer, error)

    def finish(answer: Answer, text: str, output: list[OutputItem]) -> ResponseObject:
        calls = [o for o in output if isinstance(o, FunctionCallObject)]
        length = answer.outcome.finish_reason == "length"
        status: Literal["incomplete", "completed"] = (
            "incomplete" if length and not calls else "completed"
        )
        for item in output:
            if isinstance(item, (MessageObject, FunctionCallObject)):
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
        return sse_response(serving.stream(generation, job, ResponseEvents(build, finish, new_id)))
    answer = await serving.complete(generation, job, request.is_disconnected)
    text = answer.content or ""
    output = whole_output(text, answer)
    return finish(answer, text, output).model_dump(mode="json")


async def _with_mcp(
    body: ResponseRequest,
    agent: AgentLoop,
    settings: McpSettings,
    store: ResponsesStore,
    params: ParamsInput,
    history: list[Turn],
    turns: list[Turn],
    items: list[StoredInputItem],
    request: Request,
) -> Any:
    """A response whose tools include remote MCP servers (``response_mcp.py``)."""
    if body.text is not None and body.text.format.type != "text":
        raise InvalidRequest("text.format cannot be combined with mcp tools.", param="text")
    messages = chat_messages(body.instructions, history + turns)
    mcp = McpResponse(body, agent, settings, params, messages)

    def save(done: ResponseObject, transcript: list[Turn]) -> None:
        if body.store:
            store.save(
                done.model_dump(mode="json"),
                [i.model_dump(mode="json") for i in items],
                cast(list[dict[str, str]], transcript),
            )

    if body.stream:
        return sse_response(mcp.events(new_id("resp"), time.time(), save))
    done, transcript = await mcp.run(new_id("resp"), time.time(), request.is_disconnected)
    save(done, transcript)
    return done.model_dump(mode="json")


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
