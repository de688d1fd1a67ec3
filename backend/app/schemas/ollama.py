"""Ollama-compatible API types (``/api/generate``, ``/api/chat``, ``/api/embed``, ...), shaped
like Ollama's own (api/types.go) so existing Ollama clients work unchanged."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.schemas.common import RepetitionPenalty, Seed, Temperature, Text, TopK, TopP
from app.schemas.generation import parse_duration

KeepAlive = str | float | int | None
FormatValue = Literal["", "json"] | dict[str, Any] | None


class OllamaOptions(BaseModel):
    """Sampling options. Unset ones take Ollama's defaults; options for Ollama's runner that
    mean nothing here (num_gpu, mirostat...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    repeat_penalty: RepetitionPenalty | None = None
    seed: Seed | None = None
    num_predict: int | None = Field(
        default=None, description="Most tokens to generate; -1 or unset: the server default."
    )
    stop: list[Text] | None = Field(default=None, max_length=16, description="Stop strings.")
    num_ctx: int | None = Field(
        default=None,
        description="Accepted; the context is the model's (or its llama.cpp sequence share).",
    )


class _Named(BaseModel):
    model: str = Field(
        default="",
        max_length=512,
        description="Model name, e.g. tiny or tiny-f16.gguf (':latest' is ignored).",
    )
    name: str | None = Field(default=None, description="Old spelling of 'model'.")

    @model_validator(mode="after")
    def _model_name(self) -> _Named:
        if not self.model and self.name:
            self.model = self.name
        if not self.model:
            raise ValueError("model is required")
        return self


class _GenerateCommon(_Named):
    stream: bool = Field(
        default=True, description="NDJSON stream (Ollama's default) or one JSON object."
    )
    format: FormatValue = Field(
        default=None,
        description="'json' or a JSON schema: constrain "
        "the output (llamacpp, ollama and remote backends).",
    )
    options: OllamaOptions | None = None
    keep_alive: KeepAlive = Field(
        default=None,
        description="How long the model stays "
        "loaded when idle after this request ('5m', seconds, -1 "
        "forever); 0 with an empty prompt unloads it now.",
    )

    @field_validator("keep_alive")
    @classmethod
    def _duration(cls, value: KeepAlive) -> float | None:
        return parse_duration(value)


class OllamaFunctionCall(BaseModel):
    name: str = Field(description="Function name.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Arguments object.")


class OllamaToolCall(BaseModel):
    function: OllamaFunctionCall


class OllamaFunction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$", description="Function name.")
    description: str | None = Field(default=None, description="What it does.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="JSON schema of the arguments."
    )


class OllamaTool(BaseModel):
    type: Literal["function"] = "function"
    function: OllamaFunction


class OllamaChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool"] = Field(description="Author.")
    content: Text = Field(default="", max_length=1_000_000, description="Text.")
    images: list[str] | None = Field(default=None, description="Not supported (text models).")
    thinking: str | None = Field(
        default=None, description="Assistant: its reasoning (not sent back to the model)."
    )
    tool_calls: list[OllamaToolCall] | None = Field(
        default=None, description="Assistant: calls it made."
    )
    tool_name: str | None = Field(default=None, description="Tool: the function answered.")


class OllamaChatRequest(_GenerateCommon):
    """``POST /api/chat``."""

    messages: list[OllamaChatMessage] = Field(
        default_factory=list,
        description="Conversation; empty loads (or with keep_alive 0 unloads) the model.",
    )
    tools: list[OllamaTool] | None = Field(
        default=None,
        max_length=128,
        description="Functions the model may call; calls come back in message.tool_calls.",
    )
    think: bool | str | None = Field(
        default=None,
        description="true (or a level): the "
        "model's <think> text comes back in message.thinking, "
        "apart from content.",
    )


class OllamaGenerateRequest(_GenerateCommon):
    """``POST /api/generate``."""

    prompt: Text = Field(
        default="",
        max_length=1_000_000,
        description="Prompt; empty loads (or with keep_alive 0 unloads) the model.",
    )
    system: Text | None = Field(
        default=None, max_length=100_000, description="System prompt (not with raw)."
    )
    raw: bool = Field(default=False, description="Send the prompt as is, without the template.")
    suffix: str | None = Field(default=None, description="Not supported (no fill-in-middle).")
    template: str | None = Field(
        default=None, description="Not supported (the model's own template is used)."
    )
    context: list[int] | None = Field(
        default=None, description="Not supported; send the conversation with /api/chat instead."
    )
    images: list[str] | None = Field(default=None, description="Not supported.")


class OllamaEmbedRequest(_Named):
    """``POST /api/embed``."""

    input: Text | list[Text] = Field(description="Text or texts to embed.")
    truncate: bool = Field(default=True, description="Accepted; too-long inputs are refused.")
    options: dict[str, Any] | None = None
    keep_alive: KeepAlive = Field(
        default=None,
        description="Accepted (embedding models stay loaded as the server's keep-alive says).",
    )
    dimensions: int | None = Field(default=None, description="Must equal the model's size.")


class OllamaEmbeddingsRequest(_Named):
    """``POST /api/embeddings``: Ollama's older endpoint, one text, still served by Ollama and
    called by the ollama client's ``embeddings()``."""

    prompt: Text = Field(
        default="", max_length=1_000_000, description="Text to embed; empty gives no vector."
    )
    options: dict[str, Any] | None = None
    keep_alive: KeepAlive = Field(
        default=None,
        description="Accepted (embedding models stay loaded as the server's keep-alive says).",
    )


class OllamaShowRequest(_Named):
    """``POST /api/show``."""

    verbose: bool = False


class OllamaPullRequest(_Named):
    """``POST /api/pull``."""

    insecure: bool = False
    stream: bool = True


class OllamaDetails(BaseModel):
    parent_model: str = ""
    format: str = Field(description="gguf or safetensors.")
    family: str = Field(description="Architecture, e.g. llama.")
    families: list[str] | None = None
    parameter_size: str = Field(description="e.g. 390M.")
    quantization_level: str = Field(description="e.g. F16, Q8_0, BF16.")


class OllamaModelEntry(BaseModel):
    """One model of ``GET /api/tags`` (and ``/api/ps``)."""

    name: str
    model: str
    modified_at: str = Field(description="RFC 3339 time of the model's files.")
    size: int = Field(description="Bytes on disk.")
    digest: str = Field(
        description="sha256 of the model's path, size and modification "
        "time: identifies this version of the files (not a content hash)."
    )
    details: OllamaDetails
    expires_at: str | None = None
    size_vram: int | None = None
    context_length: int | None = None


class OllamaTags(BaseModel):
    models: list[OllamaModelEntry]


class OllamaShowResponse(BaseModel):
    modelfile: str
    parameters: str
    template: str
    details: OllamaDetails
    model_info: dict[str, Any]
    capabilities: list[str]
    modified_at: str
