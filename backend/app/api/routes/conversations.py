"""Stored conversations: ``/api/v1/conversations`` (CRUD, answers streamed as SSE, export)."""

from __future__ import annotations

import re
import weakref
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sse_starlette import ServerSentEvent

from app.api.deps import ConversationsDep, GenerationDep
from app.api.routes.generate import request_params
from app.api.sse import error_event, event, sse_response
from app.core.errors import AppError
from app.schemas.common import error_responses
from app.schemas.conversations import (
    Conversation,
    ConversationAnswer,
    ConversationCreate,
    ConversationList,
    ConversationMessage,
    ConversationSend,
    ConversationSummary,
    ConversationUpdate,
    MessageFigures,
)
from app.schemas.generation import GenerationParameters, TokenDelta
from app.services.conversations import AnswerOptions, ConversationService
from app.services.conversations.export import to_markdown
from app.services.conversations.service import Answer
from app.services.conversations.store import ConversationRecord, MessageRecord
from app.services.generation import GenerationOutcome, GenerationService

router = APIRouter(prefix="/conversations", tags=["conversations"])

_STREAM_DOC = {
    "description": "The stored assistant message as JSON, or with stream=true "
    "(the default) server-sent events: `message` (the stored user message, when "
    "one was added), `token` ({text}) per step, then `done` (the stored assistant "
    "message) or `error` (the envelope). A stopped stream keeps what was generated."
}


def _message(m: MessageRecord) -> ConversationMessage:
    return ConversationMessage(
        id=m.id,
        role=m.role,
        content=m.content,
        created_at=m.created_at,
        model=m.model,
        backend=m.backend,
        parameters=m.parameters,
        finish_reason=m.finish_reason,  # type: ignore[arg-type]  # stored from a Literal
        figures=None if m.figures is None else MessageFigures.model_validate(m.figures),
    )


def _summary(c: ConversationRecord, service: ConversationService) -> dict:
    return dict(
        id=c.id,
        title=c.title,
        model=c.model,
        backend=c.backend,
        system=c.system,
        created_at=c.created_at,
        updated_at=c.updated_at,
        message_count=c.message_count,
        generating=service.generating(c.id),
    )


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
    )


async def _answer_events(
    service: ConversationService, generation: GenerationService, answer: Answer
) -> AsyncIterator[ServerSentEvent]:
    outcome: GenerationOutcome | None = GenerationOutcome(answer.job)
    try:
        if answer.user is not None:
            yield event(_message(answer.user), "message")
        async for item in generation.stream(answer.job):
            outcome.add(item)  # type: ignore[union-attr]
            if item.text:
                yield event(TokenDelta(text=item.text), "token")
    except AppError as exc:
        outcome = None
        yield error_event(exc, "error")
    finally:
        # Runs on a client disconnect too (the stream is cancelled): keep what was generated.
        saved = service.finish(answer, outcome)
    if saved is not None:
        yield event(_message(saved), "done")


async def _respond(
    answer: Answer,
    body: ConversationAnswer,
    service: ConversationService,
    generation: GenerationService,
    request: Request,
):
    if not body.stream:
        try:
            outcome = await generation.run(answer.job, request.is_disconnected)
        except BaseException:
            service.release(answer)
            raise
        saved = service.finish(answer, outcome)
        return _message(saved) if saved else Response(status_code=204)
    events = _answer_events(service, generation, answer)
    # A stream that never starts (client gone first) must not keep the conversation busy.
    weakref.finalize(events, service.release, answer)
    return sse_response(events)


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
    generation: GenerationDep,
    request: Request,
):
    """Add a user message and generate the answer (stored when it ends or is stopped)."""
    answer = await service.send(conversation_id, body.content, _options(body))
    return await _respond(answer, body, service, generation, request)


@router.post(
    "/{conversation_id}/regenerate",
    response_model=ConversationMessage,
    responses={200: _STREAM_DOC, **error_responses(400, 404, 409, 429, 503)},
)
async def regenerate_answer(
    conversation_id: str,
    body: ConversationAnswer,
    service: ConversationsDep,
    generation: GenerationDep,
    request: Request,
):
    """Answer the last user message again; the new answer replaces the old one."""
    answer = await service.regenerate(conversation_id, _options(body))
    return await _respond(answer, body, service, generation, request)


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
    generation: GenerationDep,
    request: Request,
):
    """Replace a user message, drop the messages after it and generate a new answer."""
    answer = await service.edit(conversation_id, message_id, body.content, _options(body))
    return await _respond(answer, body, service, generation, request)


@router.get(
    "/{conversation_id}/export",
    responses={
        200: {
            "description": "Markdown (text/markdown) or JSON (the conversation object), "
            "as a download.",
            "content": {"text/markdown": {}, "application/json": {}},
        },
        **error_responses(400, 404),
    },
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
