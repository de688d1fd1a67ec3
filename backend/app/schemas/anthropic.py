"""Anthropic Messages API protocol types (``/v1/messages``, ``/v1/messages/count_tokens``).

Only the fields we honour are declared; unknown fields are ignored (SDKs send extras such as
``anthropic-beta`` features), declared ones are validated so a bad value is a 400 in
Anthropic's error envelope.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import BackendName, TopK, TopP

MAX_STOP_SEQUENCES = 8


class TextBlock(BaseModel):
    """A ``{"type": "text", "text": ...}`` content block."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class ToolUseBlock(BaseModel):
    """An earlier call of the assistant, sent back in the history."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["tool_use"]
    id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=128)
    input: dict[str, Any] = Field(default_factory=dict)


class ToolResultBlock(BaseModel):
    """The result of a tool call, in a user turn."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1, max_length=256)
    content: str | list[TextBlock] = ""
    is_error: bool = False

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(block.text for block in self.content)


class OtherBlock(BaseModel):
    """A content block of a type we do not serve (image, document, ...): refused with a 400
    naming the type rather than silently dropped."""

    model_config = ConfigDict(extra="allow")
    type: str


ContentBlock = Annotated[
    TextBlock | ToolUseBlock | ToolResultBlock | OtherBlock, Field(union_mode="left_to_right")
]


class Tool(BaseModel):
    """A client tool: ``input_schema`` is the JSON schema of its input object."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str = ""
    input_schema: dict[str, Any] = Field(description="JSON schema of the tool's input.")


class ToolChoice(BaseModel):
    """``auto`` (may call), ``any`` (must call one), ``tool`` (must call ``name``), ``none``."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool = False


class MessageParam(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: str | list[ContentBlock] = Field(description="Text, or a list of content blocks.")


class Metadata(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_id: str | None = Field(default=None, max_length=256, description="End-user id.")


class _MessagesBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=512, description="Model id from GET /v1/models.")
    messages: list[MessageParam] = Field(min_length=1, description="The conversation so far.")
    system: str | list[TextBlock] | None = Field(
        default=None, description="System prompt, as a string or text blocks."
    )
    tools: list[Tool] | None = Field(default=None, description="Tools the model may call.")
    tool_choice: ToolChoice | None = None

    def system_text(self) -> str | None:
        if self.system is None or isinstance(self.system, str):
            return self.system
        return "".join(block.text for block in self.system)


class MessagesRequest(_MessagesBase):
    """POST /v1/messages."""

    max_tokens: int = Field(ge=1, description="Most tokens to generate (required).")
    stop_sequences: list[str] | None = Field(
        default=None, max_length=MAX_STOP_SEQUENCES, description="Strings that end the turn."
    )
    temperature: float = Field(default=1.0, ge=0.0, le=1.0, description="0 to 1.")
    top_p: TopP = 1.0
    top_k: TopK = 0
    metadata: Metadata | None = None
    stream: bool = False
    backend: BackendName | None = Field(default=None, description="Extension: backend to use.")


class CountTokensRequest(_MessagesBase):
    """POST /v1/messages/count_tokens."""


class CountTokensResponse(BaseModel):
    input_tokens: int


class TextBlockOut(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ToolUseBlockOut(BaseModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class MessageUsage(BaseModel):
    input_tokens: int
    output_tokens: int


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"]


class Message(BaseModel):
    """A reply of the assistant (``type: message``)."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[TextBlockOut | ToolUseBlockOut]
    stop_reason: StopReason | None
    stop_sequence: str | None = None
    usage: MessageUsage


class AnthropicErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicError(BaseModel):
    """Anthropic's error envelope."""

    type: Literal["error"] = "error"
    error: AnthropicErrorDetail

    @classmethod
    def of(cls, type_: str, message: str) -> dict[str, Any]:
        return cls(error=AnthropicErrorDetail(type=type_, message=message)).model_dump()
