"""Native generate API types (``POST /api/v1/models/generate``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from app.schemas.common import (
    MAX_STOP_SEQUENCES,
    AllowFallback,
    BackendName,
    MaxTokens,
    RepetitionPenalty,
    Seed,
    SpeculationOptions,
    Temperature,
    Text,
    Timings,
    TopK,
    TopP,
    Usage,
)
from app.schemas.mcp import ToolRoutingData, ToolStep

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: float | str | None) -> float | None:
    """Seconds from a number or an Ollama-style duration string ('90s', '5m', '-1')."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    text = value.strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            number = text[: -len(unit)]
            try:
                return float(number) * _UNITS[unit]
            except ValueError:
                break
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            "keep_alive must be seconds or a duration like '30s', '5m', '1h'"
        ) from None


class Message(BaseModel):
    role: Literal["system", "user", "assistant"] = Field(description="Who wrote the message.")
    content: Text = Field(max_length=1_000_000, description="Message text.")


class GenerationParameters(BaseModel):
    """Sampling parameters; unset ones come from the model's defaults, then the server's."""

    max_tokens: MaxTokens | None = None
    # Unset sampling knobs come from the model (generation_config.json / GGUF metadata), then
    # the server (MP_DEFAULT_TEMPERATURE, MP_DEFAULT_TOP_P); docs/models.md.
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    repetition_penalty: RepetitionPenalty | None = None
    seed: Seed | None = None
    stop: list[Text] = Field(
        default_factory=list,
        max_length=MAX_STOP_SEQUENCES,
        description="Up to 4 strings; generation ends before the first one appears.",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON schema the output must follow (constrained decoding); backends "
        "without capabilities.json_schema refuse it with 400.",
    )
    speculation: SpeculationOptions | None = Field(
        default=None,
        description="Speculative decoding for this request (Transformers; greedy requests on "
        "llama.cpp); unset: the server's MP_SPECULATION.",
    )


class GenerateRequest(GenerationParameters):
    """A completion (``prompt``) or chat (``messages``) request."""

    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Model id from GET /api/v1/models; default: the server's default model.",
    )
    prompt: Text | None = Field(
        default=None,
        max_length=1_000_000,
        description="Raw prompt for completion mode (no chat template).",
    )
    messages: list[Message] | None = Field(
        default=None, description="Conversation for chat mode; the model's template is applied."
    )
    system: Text | None = Field(
        default=None,
        max_length=100_000,
        description="System prompt, prepended to messages in chat mode.",
    )
    stream: bool = Field(default=False, description="Send tokens as server-sent events.")
    backend: BackendName | None = None
    allow_fallback: AllowFallback = False
    keep_alive: float | str | None = Field(
        default=None,
        description="How long the model stays loaded after this request when idle: seconds, "
        "or a duration like '30s', '5m', '1h' (Ollama style). Negative: until evicted; 0: "
        "unload right after. Default: the server's keep_alive_seconds.",
    )

    mcp_servers: list[str] | Literal["all"] | None = Field(
        default=None,
        description="Chat mode: MCP servers (names from GET /api/v1/mcp/servers, or 'all' "
        "enabled ones) whose tools the model may call; the server runs the calls and feeds "
        "the results back (the stream adds tool_call, approval_request and tool_result "
        "events).",
    )
    tool_choice: str | None = Field(
        default=None,
        max_length=128,
        description="With mcp_servers, for the first round: 'auto' (default), 'required' (the "
        "model must call a tool), 'none', or the name of one tool to call.",
    )
    max_tool_steps: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="With mcp_servers: most rounds of tool calls (default MP_MCP_MAX_TOOL_STEPS).",
    )

    @field_validator("keep_alive")
    @classmethod
    def _duration(cls, value: float | str | None) -> float | None:
        return parse_duration(value)

    @model_validator(mode="after")
    def _one_input(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        if self.messages is not None and not self.messages:
            raise ValueError("'messages' must not be empty")
        if self.mcp_servers is not None and self.messages is None:
            raise ValueError("'mcp_servers' needs chat mode ('messages')")
        if self.mcp_servers is not None and self.json_schema is not None:
            raise ValueError("'mcp_servers' and 'json_schema' cannot be combined")
        return self


class GenerateResponse(BaseModel):
    """A finished generation. Also the payload of the stream's final ``done`` event."""

    id: str = Field(description="Request id.")
    model: str = Field(description="Model that generated.")
    text: str = Field(description="Generated text (stop string excluded).")
    finish_reason: Literal["stop", "length", "cancelled"] = Field(
        description="stop: end of turn or stop string; length: max_tokens reached; cancelled."
    )
    usage: Usage
    timings: Timings
    tool_steps: list[ToolStep] | None = Field(
        default=None,
        description="With mcp_servers: each MCP tool call of the turn and its result. usage "
        "then counts every round's tokens; timings are the answering round's.",
    )
    tool_routing: ToolRoutingData | None = Field(
        default=None, description="With many MCP tools enabled: which ones this turn offered."
    )


class TokenDelta(BaseModel):
    """Payload of a stream's ``token`` events."""

    text: str = Field(description="Text added by this step.")
