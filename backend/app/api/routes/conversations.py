"""Stored conversations: ``/api/v1/conversations`` (CRUD, answers streamed as SSE, export)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response
from sse_starlette import ServerSentEvent

from app.api.agent_stream import tool_event
from app.api.deps import ConversationsDep
from app.api.routes.generate import request_params
from app.api.sse import error_event, event, sse_response
from app.schemas.common import described_responses, error_responses
from app.schemas.conversations import (
    Conversation,
    ConversationAnswer,
    ConversationCreate,
    ConversationList,
    ConversationMessage,
    ConversationSend,
    ConversationSummary,
    ConversationUpdate,
)
from app.schemas.generation import GenerationParameters, TokenDelta
from app.services.conversations import AnswerOptions, ConversationService
from app.services.conversations.export import to_markdown
from app.services.conversations.running import AnswerEvent
from app.services.conversations.service import Answer
from app.services.conversations.store import ConversationRecord, MessageRecord

router = APIRouter(prefix="/conversations", tags=["conversations"])

_STREAM_DOC = {
    "description": "The stored assistant message as JSON, or with stream=true "
    "(the default) server-sent events: `message` (the stored user message, when "
    "one was added), `token` ({text}) per step, then `done` (the stored assistant "
    "message), `stopped` (cancelled before its first token: nothing stored) or `error` "
    "(the envelope); with `mcp_servers` also `tool_call`, `approval_request` and "
    "`tool_result` (as in POST /api/v1/models/generate). Events carry ids (offsets into "
    "the answer): a client that lost the "
    "connection gets the rest from `GET .../stream` with `Last-Event-ID`. Closing the "
    "connection does not stop the answer; `POST .../cancel` does."
}


def _message(m: MessageRecord) -> ConversationMessage:
    # The record's fields are the message's (figures: a dict of MessageFigures' fields; an
    # assistant message without calls stores none).
    return ConversationMessage.model_validate({**asdict(m), "tool_calls": m.tool_calls or []})


# Every field of a summary but ``generating`` is a field of the stored record.
_SUMMARY_FIELDS = [name for name in ConversationSummary.model_fields if name != "generating"]


def _summary(c: ConversationRecord, service: ConversationService) -> dict:
    stored = {name: getattr(c, name) for name in _SUMMARY_FIELDS}
    return {**stored, "generating": service.generating(c.id)}


def _full(c: ConversationRecord, service: ConversationService) -> Conversation:
    return Conversation(**_summary(c, service), messages=[_message(m) for m in c.messages])


def _options(body: ConversationAnswer) -> AnswerOptions:
    return AnswerOptions(
        params=request_params(body),
        parameters=body.model_dump(
            include=set(GenerationParameters.model_fields) - {"json_schema"}
        ),
        model=body.model,
        backend=body.backend,
        system=body.system,
        allow_fallback=body.allow_fallback,
        mcp_servers=body.mcp_servers,
        tool_choice=body.tool_choice,
        max_tool_steps=body.max_tool_steps,
        stream=body.stream,
    )


def _sse(item: AnswerEvent) -> ServerSentEvent:
    if item.kind == "token":
        return event(TokenDelta(text=item.text), "token", item.id)
    if item.kind in ("tool_call", "approval_request", "tool_result"):
        return event(tool_event(item.data), item.kind, item.id)
    if item.kind == "error" and item.error is not None:
        return error_event(item.error, "error")
    if item.message is not None:
        return event(_message(item.message), item.kind, item.id)
    return event({}, item.kind, item.id)  # stopped: nothing was stored


async def _follow(events: AsyncIterator[AnswerEvent]) -> AsyncIterator[ServerSentEvent]:
    # A client that leaves closes this follower only: the answer goes on.
    async for item in events:
        yield _sse(item)


async def _respond(answer: Answer, body: ConversationAnswer, service: ConversationService):
    running = service.start(answer)
    if body.stream:
        return sse_response(_follow(running.follow()))
    assert running.task is not None
    # The request waits for the answer; a client that leaves meanwhile does not stop it.
    await asyncio.wait({running.task})
    last = running.last
    if last is not None and last.kind == "error" and last.error is not None:
        raise last.error
    if last is None or last.message is None:
        return Response(status_code=204)
    return _message(last.message)


@router.post("", response_model=Conversation, status_code=201, responses=error_responses(400))
async def create_conversation(body: ConversationCreate, service: ConversationsDep):
    """Start an empty conversation."""
    record = service.create(body.title, body.model, body.backend, body.system)
    return _full(record, service)


@router.get("", response_model=ConversationList, responses=error_responses(400))
async def list_conversations(
    service: ConversationsDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Only conversations whose title or any message contains this text.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Most to return.")] = 100,
):
    """Conversations, most recently changed first."""
    return ConversationList(
        data=[ConversationSummary(**_summary(c, service)) for c in service.search(q or None, limit)]
    )


@router.get("/{conversation_id}", response_model=Conversation, responses=error_responses(404))
async def get_conversation(conversation_id: str, service: ConversationsDep):
    """A conversation with all its messages."""
    return _full(service.get(conversation_id), service)


@router.patch(
    "/{conversation_id}", response_model=Conversation, responses=error_responses(400, 404)
)
async def update_conversation(
    conversation_id: str, body: ConversationUpdate, service: ConversationsDep
):
    """Rename, or change the model, backend or system prompt of the next answers."""
    # A null title means "leave it"; null model/backend/system clear them.
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name != "title"
    }
    return _full(service.update(conversation_id, **changes), service)


@router.delete("/{conversation_id}", status_code=204, responses=error_responses(404, 409))
async def delete_conversation(conversation_id: str, service: ConversationsDep) -> Response:
    """Delete a conversation and its messages."""
    service.delete(conversation_id)
    return Response(status_code=204)


@router.post(
    "/{conversation_id}/messages",
    response_model=ConversationMessage,
    responses={200: _STREAM_DOC, **error_responses(400, 404, 409, 429, 503)},
)
async def send_message(
    conversation_id: str,
    body: ConversationSend,
    service: ConversationsDep,
):
    """Add a user message and generate the answer (stored when it ends or is stopped)."""
    answer = await service.send(conversation_id, body.content, _options(body))
    return await _respond(answer, body, service)


@router.post(
    "/{conversation_id}/regenerate",
    response_model=ConversationMessage,
    responses={200: _STREAM_DOC, **error_responses(400, 404, 409, 429, 503)},
)
async def regenerate_answer(
    conversation_id: str,
    body: ConversationAnswer,
    service: ConversationsDep,
):
    """Answer the last user message again; the new answer replaces the old one."""
    answer = await service.regenerate(conversation_id, _options(body))
    return await _respond(answer, body, service)


@router.put(
    "/{conversation_id}/messages/{message_id}",
    response_model=ConversationMessage,
    responses={200: _STREAM_DOC, **error_responses(400, 404, 409, 429, 503)},
)
async def edit_message(
    conversation_id: str,
    message_id: str,
    body: ConversationSend,
    service: ConversationsDep,
):
    """Replace a user message, drop the messages after it and generate a new answer."""
    answer = await service.edit(conversation_id, message_id, body.content, _options(body))
    return await _respond(answer, body, service)


@router.get(
    "/{conversation_id}/stream",
    responses={
        200: {
            "description": "Server-sent events of the answer being written (as from the "
            "answering routes): without `Last-Event-ID` all of them from the start (the text "
            "so far piece by piece), with it the ones after that offset."
        },
        204: {"description": "No answer is being written (nor finished in the last minute)."},
        **error_responses(400, 404),
    },
)
async def stream_answer(
    conversation_id: str,
    service: ConversationsDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="The id of the last event received; the stream resumes after it.",
        ),
    ] = None,
):
    """Attach to the conversation's running answer (after a reload or a dropped connection)."""
    running = service.running(conversation_id)
    if running is None:
        return Response(status_code=204)
    return sse_response(_follow(running.follow(last_event_id)))


@router.post("/{conversation_id}/cancel", status_code=204, responses=error_responses(404))
async def cancel_answer(conversation_id: str, service: ConversationsDep) -> Response:
    """Stop the answer being written (Stop in the UI); returns once it is saved. Does nothing
    when no answer is being written."""
    await service.cancel(conversation_id)
    return Response(status_code=204)


@router.get(
    "/{conversation_id}/export",
    responses=described_responses(
        "Markdown (text/markdown) or JSON (the conversation object), as a download.",
        400,
        404,
        media=(
            "text/markdown",
            "application/json",
        ),
    ),
)
async def export_conversation(
    conversation_id: str,
    service: ConversationsDep,
    format: Annotated[Literal["markdown", "json"], Query(description="File format.")] = "markdown",
) -> Response:
    """Download a conversation as Markdown or JSON."""
    record = service.get(conversation_id)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", record.title).strip("-")[:60] or "conversation"
    if format == "json":
        body = _full(record, service).model_dump_json(indent=2)
        media, ext = "application/json", "json"
    else:
        body, media, ext = to_markdown(record), "text/markdown; charset=utf-8", "md"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{ext}"'},
    )
