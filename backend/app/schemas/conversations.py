"""Conversation API types (``/api/v1/conversations``): stored chats and their messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import AllowFallback, BackendName
from app.schemas.generation import GenerationParameters

Title = Field(min_length=1, max_length=200, description="Shown in the conversation list.")
SystemPrompt = Field(
    default=None, max_length=100_000, description="System prompt sent before the messages."
)
ModelId = Field(
    default=None,
    min_length=1,
    max_length=512,
    description="Model id from GET /api/v1/models; default: the server's default model.",
)


class ConversationCreate(BaseModel):
    """A new, empty conversation; its title comes from the first message unless given."""

    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Title; default: the start of the first message.",
    )
    model: str | None = ModelId
    backend: BackendName | None = None
    system: str | None = SystemPrompt


class ConversationUpdate(BaseModel):
    """Rename a conversation or change what its next answers use; omitted fields stay."""

    title: str | None = Field(default=None, min_length=1, max_length=200, description="New title.")
    model: str | None = ModelId
    backend: BackendName | None = None
    system: str | None = SystemPrompt


class ConversationAnswer(GenerationParameters):
    """How to generate the answer: model, backend and sampling parameters. ``model``,
    ``backend`` and ``system`` default to the conversation's own and are stored on it."""

    model: str | None = ModelId
    backend: BackendName | None = None
    allow_fallback: AllowFallback = False
    system: str | None = SystemPrompt
    stream: bool = Field(
        default=True,
        description="Send the answer as server-sent events "
        "(`message`, `token`..., then `done` or `error`); false: JSON.",
    )


class ConversationSend(ConversationAnswer):
    """A user message to append; the assistant's answer is generated and stored."""

    content: str = Field(min_length=1, max_length=1_000_000, description="The user's message.")


class MessageFigures(BaseModel):
    """What an answer cost, measured by the server."""

    ttft_ms: float | None = Field(default=None, description="Time to first token.")
    tokens_per_second: float | None = Field(default=None, description="Decode speed.")
    prompt_tokens: int | None = Field(default=None, description="Tokens in the prompt.")
    completion_tokens: int | None = Field(default=None, description="Tokens generated.")
    total_ms: float | None = Field(default=None, description="Request to last token.")


class ConversationMessage(BaseModel):
    """A stored message. Assistant messages carry what generated them and their figures."""

    id: str = Field(description="Message id.")
    role: Literal["user", "assistant"] = Field(description="Who wrote it.")
    content: str = Field(description="Message text (a stopped answer keeps what was generated).")
    created_at: float = Field(description="Unix time.")
    model: str | None = Field(default=None, description="Model that answered.")
    backend: str | None = Field(default=None, description="Backend that served the answer.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="Sampling parameters of the answer."
    )
    finish_reason: Literal["stop", "length", "cancelled"] | None = Field(
        default=None, description="Why the answer ended; cancelled: stopped by the client."
    )
    figures: MessageFigures | None = None


class ConversationSummary(BaseModel):
    """A conversation in the list."""

    id: str = Field(description="Conversation id.")
    title: str = Field(description="Title.")
    model: str | None = Field(description="Model of the next answer.")
    backend: str | None = Field(description="Backend of the next answer (none: automatic).")
    system: str | None = Field(description="System prompt.")
    created_at: float = Field(description="Unix time.")
    updated_at: float = Field(description="Unix time of the last change.")
    message_count: int = Field(description="Messages stored.")
    generating: bool = Field(description="An answer is being generated right now.")


class Conversation(ConversationSummary):
    """A conversation with its messages, oldest first."""

    messages: list[ConversationMessage]


class ConversationList(BaseModel):
    """Conversations, most recently changed first."""

    data: list[ConversationSummary]
