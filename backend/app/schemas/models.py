"""Native model listing types (``/api/v1/models``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.quantize import ModelLineage


class LocalModelInfo(BaseModel):
    """A model whose files are on this machine."""

    id: str = Field(description="Id to use in requests (folder or .gguf file name).")
    format: Literal["hf", "gguf", "ollama", "remote"] = Field(description="Model format.")
    size_bytes: int = Field(description="Bytes on disk.")
    description: str | None = Field(default=None, description="First line of its README.")
    loaded: bool = Field(description="Whether it is in memory now.")
    demo: bool = Field(default=False, description="A project-built demo model, not a real one.")
    bundled: bool = Field(
        default=False,
        description="The bundled SmolLM2-135M-Instruct that setup places (135M, for trying "
        "the product: fluent English, wrong facts and arithmetic).",
    )
    lineage: ModelLineage | None = Field(
        default=None,
        description="For a model this server quantized: its parent, type, size, bits per "
        "weight and job.",
    )


class ReplicaInfo(BaseModel):
    """One server behind a remote/vLLM model (several when its endpoint lists ``urls``)."""

    url: str
    in_flight: int = Field(description="Requests this server is answering now.")
    requests_total: int
    failures_total: int = Field(description="Failed calls (unreachable, 5xx after retries).")
    breaker_state: Literal["closed", "open", "half_open"] = Field(
        description="Its circuit breaker: open means skipped until the reset time."
    )
    last_error: str | None = None
    last_error_at: float | None = Field(default=None, description="Unix time of last_error.")


class LoadedModelInfo(BaseModel):
    """A model in memory (like Ollama's /api/ps)."""

    id: str
    backend: str = Field(description="Backend serving it.")
    backend_reason: str = Field(description="Why this backend was chosen.")
    device: str
    dtype: str
    memory_bytes: int = Field(description="Memory held by the weights.")
    context_length: int
    loaded_at: float = Field(description="Unix time it was loaded.")
    last_used: float = Field(description="Unix time of its last request.")
    load_seconds: float
    tokens_generated: int = Field(description="Tokens generated since load (all requests).")
    requests_total: int
    active_requests: int = Field(description="Generations running now.")
    queue_depth: int = Field(
        default=0,
        description="Requests waiting for a free sequence "
        "(llama.cpp scheduler); over MP_LLAMACPP_QUEUE_MAX they get 429.",
    )
    keep_alive_s: float | None = Field(
        default=None, description="Seconds it stays loaded when idle (None: until evicted)."
    )
    replicas: list[ReplicaInfo] = Field(
        default_factory=list,
        description="The servers behind a remote/vLLM model, least in flight served first.",
    )
    expires_at: float | None = Field(
        default=None,
        description="Unix time it will be unloaded if no request comes first "
        "(None: no idle expiry).",
    )


class InvalidModelInfo(BaseModel):
    """An entry of the models folder that looks like a model but is damaged (skipped)."""

    id: str = Field(description="File or folder name under the models folder.")
    problem: str = Field(description="What is wrong with it.")


class ModelsOverview(BaseModel):
    local: list[LocalModelInfo]
    loaded: list[LoadedModelInfo]
    default_model: str | None = Field(description="Model used when a request names none.")
    invalid: list[InvalidModelInfo] = Field(
        default_factory=list,
        description="Damaged model files found in the models folder; they are left out of "
        "every listing and refused (400) when requested. Delete or replace them.",
    )
