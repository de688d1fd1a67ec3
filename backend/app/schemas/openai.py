"""OpenAI-compatible protocol types for ``/v1`` (chat/completions, completions, models).

Only the fields we honour are declared; unknown fields are accepted and ignored (clients such as
LangChain send extras), but declared fields are validated strictly so a bad value gets a 400.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

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


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=512, description="Model id from GET /v1/models.")
    max_tokens: MaxTokens | None = None
    # Unset sampling knobs come from the model (generation_config.json / GGUF metadata), then
    # the server (MP_DEFAULT_TEMPERATURE, MP_DEFAULT_TOP_P); docs/models.md.
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = Field(default=None, description="Extension: top-k sampling (0 disables).")
    repetition_penalty: RepetitionPenalty | None = Field(default=None, description="Extension.")
    seed: Seed | None = None
    stop: Text | list[Text] | None = Field(
        default=None, description="Up to 4 sequences where generation stops."
    )
    n: int = Field(default=1, ge=1, le=1, description="Only 1 is supported.")
    stream: bool = False
    stream_options: StreamOptions | None = None
    backend: BackendName | None = Field(default=None, description="Extension: backend to use.")
    allow_fallback: AllowFallback = False
    user: str | None = None
    speculation: SpeculationOptions | None = Field(
        default=None,
        description="Extension: speculative decoding for this request (Transformers; greedy "
        "requests on llama.cpp); unset: the server's MP_SPECULATION.",
    )

    @field_validator("stop")
    @classmethod
    def _stop_limit(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences")
        return value

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class JsonSchemaFormat(BaseModel):
    """The schema part of ``response_format`` (OpenAI's structured outputs)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    name: str = Field(default="output", max_length=64, description="Name of the schema.")
    description: str | None = Field(default=None, description="What the output is for.")
    schema_: dict[str, Any] = Field(alias="schema", description="JSON schema of the output.")
    strict: bool | None = Field(
        default=None,
        description="Accepted; output always follows the schema when the backend constrains it.",
    )


class ResponseFormat(BaseModel):
    """``response_format``: free text, any JSON object, or JSON following a schema."""

    type: Literal["text", "json_object", "json_schema"] = Field(description="Output kind.")
    json_schema: JsonSchemaFormat | None = Field(default=None, description="With json_schema.")

    def schema_text(self) -> str | None:
        """The schema as JSON text, or None for free text."""
        import json

        if self.type == "text":
            return None
        if self.type == "json_object":
            return json.dumps({"type": "object"})
        if self.json_schema is None:
            raise ValueError("response_format.json_schema is required with type json_schema")
        return json.dumps(self.json_schema.schema_)


class StreamOptions(BaseModel):
    include_usage: bool = Field(default=False, description="Send a last chunk with usage.")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: Text


class FunctionCall(BaseModel):
    name: str = Field(description="Function name.")
    arguments: str = Field(description="Arguments as JSON text.")


class ToolCallIn(BaseModel):
    """A call made by the assistant earlier in the conversation."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(max_length=256, description="Call id; tool messages answer it.")
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Text | list[ContentPart] | None = None
    name: Text | None = None
    tool_calls: list[ToolCallIn] | None = Field(default=None, description="Assistant: calls.")
    tool_call_id: str | None = Field(default=None, description="Tool: the call answered.")

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


FUNCTION_NAME = r"^[a-zA-Z0-9_-]{1,64}$"


class FunctionDefinition(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(pattern=FUNCTION_NAME, description="Function name (a-z, 0-9, _ and -).")
    description: str = Field(default="", max_length=10_000, description="What it does.")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the arguments object.",
    )
    strict: bool | None = Field(
        default=None,
        description="Accepted; forced calls always follow the schema (constrained decoding).",
    )


class ToolDefinition(BaseModel):
    type: Literal["function"] = Field(description="Only function tools exist.")
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str = Field(description="The function to call.")


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


class ChatEndingFields(BaseModel):
    """vLLM's fields for how a chat prompt ends (its defaults: a new assistant turn, also
    after a final assistant message; the final message is continued only when asked)."""

    add_generation_prompt: bool = Field(
        default=True,
        description="Extension (vLLM's): open a new assistant turn after the messages.",
    )
    continue_final_message: bool = Field(
        default=False,
        description="Extension (vLLM's): leave the final message open and continue its text "
        "(assistant prefill); the reply holds only the new text. Not with "
        "add_generation_prompt=true.",
    )

    @model_validator(mode="after")
    def _one_ending(self) -> ChatEndingFields:
        # vLLM's rule: both asked for explicitly is an error; continuing alone implies no
        # generation prompt.
        explicit = "add_generation_prompt" in self.model_fields_set
        if self.continue_final_message and explicit and self.add_generation_prompt:
            raise ValueError(
                "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
            )
        return self


class Prediction(BaseModel):
    """OpenAI's Predicted Outputs: text the answer is expected to largely repeat (a file
    being edited); engines that speculate draft from it, others ignore it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["content"] = Field(description="Only 'content' exists.")
    content: Text | list[ContentPart] = Field(
        description="The predicted text, or text parts joined in order."
    )

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatCompletionRequest(_Request, ChatEndingFields):
    """POST /v1/chat/completions."""

    messages: list[ChatMessageIn] = Field(min_length=1, description="The conversation so far.")
    max_completion_tokens: MaxTokens | None = Field(
        default=None, description="Newer name of max_tokens; wins when both are given."
    )
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    response_format: ResponseFormat | None = Field(
        default=None,
        description="Constrain the output to JSON (json_object) or to a JSON "
        "schema (json_schema); backends with capabilities.json_schema honour it, others 400.",
    )
    tools: list[ToolDefinition] | None = Field(
        default=None, max_length=128, description="Functions the model may call."
    )
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = Field(
        default=None,
        description="none, auto (default with tools), required (at least one "
        "call, constrained) or a named function (that call, constrained).",
    )
    parallel_tool_calls: bool = Field(default=True, description="Allow several calls.")
    prediction: Prediction | None = Field(
        default=None,
        description="Predicted Outputs: a draft source for speculative decoding; usage "
        "reports accepted and rejected prediction tokens.",
    )

    @model_validator(mode="after")
    def _schema_given(self) -> ChatCompletionRequest:
        if self.response_format is not None:
            self.response_format.schema_text()
        return self


class CompletionRequest(_Request):
    """POST /v1/completions (legacy completion API)."""

    prompt: Text | list[Text] = Field(description="Prompt text (a list must hold exactly one).")
    logprobs: int | None = Field(default=None, ge=0, le=5)
    echo: bool = Field(default=False, description="Prepend the prompt to the returned text.")

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("exactly one prompt is supported per request")
        return value

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


# --- responses ---------------------------------------------------------------------------------


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprobOut(TopLogprob):
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprobOut] | None = None


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    reasoning_content: str | None = Field(
        default=None, description="Extension: the model's <think> text, apart from content."
    )
    tool_calls: list[ToolCallOut] | None = None


FinishReasonOut = Literal["stop", "length", "tool_calls"]


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: FinishReasonOut | None
    logprobs: ChoiceLogprobs | None = None


def _now() -> int:
    return int(time.time())


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None
    timings: Timings | None = Field(default=None, description="Extension: server timings.")


class _OmitNone(BaseModel):
    """Leaves unset fields out, as OpenAI does in stream deltas: the SDK merges deltas key by
    key, so a ``"type": null`` would wipe the type an earlier piece set."""

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> Any:
        return {k: v for k, v in handler(self).items() if v is not None}


class FunctionDelta(_OmitNone):
    name: str | None = None
    arguments: str | None = None


class ToolCallChunk(_OmitNone):
    """A piece of a streamed call: id, type and name first, then argument fragments."""

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta


class ChatDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallChunk] | None = None


class ChatChunkChoice(BaseModel):
    index: int = 0
    delta: ChatDelta
    finish_reason: FinishReasonOut | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    timings: Timings | None = None


class CompletionLogprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: Literal["stop", "length"] | None
    logprobs: CompletionLogprobs | None = None


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    timings: Timings | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=_now)
    owned_by: str = "mistral-playground"
    meta: dict[str, Any] = Field(default_factory=dict, description="Extension: format, backend.")


class ModelCardList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


_Request.model_rebuild()
ChatCompletionRequest.model_rebuild()
CompletionRequest.model_rebuild()
