"""Conversation API types (``/api/v1/conversations``): stored chats and their messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

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
    mcp_servers: list[str] | Literal["all"] | None = Field(
        default=None,
        description="MCP servers (names from GET /api/v1/mcp/servers, or 'all' enabled ones) "
        "whose tools the model may call: the server runs the calls and feeds the results back; "
        "the stream adds tool_call, approval_request and tool_result events, and the calls "
        "and results are saved as messages of the conversation.",
    )
    tool_choice: str | None = Field(
        default=None,
        max_length=128,
        description="With mcp_servers, for the first round: 'auto' (default), 'required', "
        "'none', or the name of one tool to call.",
    )
    max_tool_steps: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="With mcp_servers: most rounds of tool calls (default MP_MCP_MAX_TOOL_STEPS).",
    )

    @model_validator(mode="after")
    def _tools_need_servers(self) -> ConversationAnswer:
        if self.mcp_servers is None and (
            self.tool_choice is not None or self.max_tool_steps is not None
        ):
            raise ValueError("'tool_choice' and 'max_tool_steps' need 'mcp_servers'")
        if self.mcp_servers is not None and self.json_schema is not None:
            raise ValueError("'mcp_servers' and 'json_schema' cannot be combined")
        return self


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


class ConversationToolCall(BaseModel):
    """An MCP tool call an assistant message made."""

    id: str = Field(description="The call's id (its tool message answers it).")
    server: str = Field(description="MCP server that ran it.")
    tool: str = Field(description="The tool's name on that server.")
    name: str = Field(description="The name the model was offered (server__tool on a clash).")
    arguments: str = Field(description="JSON text of the arguments the model gave.")


class ConversationToolResult(BaseModel):
    """How an MCP tool call went (on a tool message; its content is the result)."""

    server: str
    tool: str
    status: Literal["ok", "error", "denied", "timeout", "cancelled"] = Field(
        description="cancelled: the answer was stopped before the call returned."
    )
    duration_ms: float = Field(description="Time the call took (after any approval).")
    truncated: bool = Field(default=False, description="The result was cut to the budget.")


class ConversationMessage(BaseModel):
    """A stored message. Assistant messages carry what generated them and their figures;
    with MCP tools, an assistant message may carry ``tool_calls`` and each result is a
    ``tool`` message."""

    id: str = Field(description="Message id.")
    role: Literal["user", "assistant", "tool"] = Field(description="Who wrote it.")
    content: str = Field(description="Message text (a stopped answer keeps what was generated).")
    created_at: float = Field(description="Unix time.")
    model: str | None = Field(default=None, description="Model that answered.")
    backend: str | None = Field(default=None, description="Backend that served the answer.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="Sampling parameters of the answer."
    )
    finish_reason: Literal["stop", "length", "cancelled", "tool_calls"] | None = Field(
        default=None,
        description="Why the answer ended; cancelled: stopped by the client; tool_calls: the "
        "model called tools (the answer follows in later messages).",
    )
    figures: MessageFigures | None = None
    tool_calls: list[ConversationToolCall] = Field(
        default_factory=list, description="MCP tool calls this assistant message made."
    )
    tool_call_id: str | None = Field(
        default=None, description="A tool message: the id of the call it answers."
    )
    tool_result: ConversationToolResult | None = Field(
        default=None, description="A tool message: how the call went."
    )


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
