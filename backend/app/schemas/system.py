"""System information types (``/api/v1/health``, ``/api/v1/system``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str = Field(description="'ok' when the server answers.")
    version: str


class BackendCapabilities(BaseModel):
    """What a backend does beyond plain generation; requests needing more get 400."""

    chat_template: bool = Field(description="Applies the model's chat template itself.")
    embeddings: bool = Field(description="Serves embeddings (/api/embed, RAG).")
    logprobs: bool = Field(description="Returns token logprobs (logprobs/top_logprobs).")
    json_schema: bool = Field(description="Constrains output to a JSON schema (response_format).")
    local_tokenizer: bool = Field(
        description="Tokenizes here (context checked before generating); false for engines "
        "behind HTTP, which count tokens themselves."
    )


class BackendStatus(BaseModel):
    name: str
    available: bool = Field(description="Whether its engine is installed here.")
    reason: str | None = Field(description="Why it is unavailable, with the install command.")
    formats: list[str] = Field(description="Model formats it serves.")
    description: str
    capabilities: BackendCapabilities | None = Field(
        default=None, description="What it can do (null when it is not installed)."
    )


class GpuInfo(BaseModel):
    index: int
    name: str
    total_bytes: int
    free_bytes: int


class DeploymentInfo(BaseModel):
    """Where this process keeps its state and who runs its background jobs."""

    database: Literal["sqlite", "postgresql"] = Field(
        description="The metadata database: the SQLite file of the data folder, or PostgreSQL "
        "(MP_DATABASE_URL)."
    )
    redis: bool = Field(description="MP_REDIS_URL is set: shared limits, job queue, events.")
    jobs: Literal["in-process", "queue"] = Field(
        description="in-process: this server runs its ingestion, batch and download jobs; "
        "queue: they go on the Redis queue and any worker runs them."
    )
    runs_jobs: bool = Field(
        description="This process runs jobs (always in-process; on the queue unless started "
        "with --no-worker)."
    )
    workers: int | None = Field(
        default=None,
        description="Queue workers whose health key is in Redis now (their hosts, counted "
        "once each); null without Redis or when Redis does not answer.",
    )
    vector_store: Literal["embedded", "server"] = Field(
        description="Chroma in the data folder, or a Chroma server (MP_RAG_CHROMA_URL)."
    )
    shared_dir: str | None = Field(
        default=None,
        description="Folder of uploads and batch files (MP_SHARED_DIR, else the data folder); "
        "shown to admins only when auth is on.",
    )


class SystemInfo(BaseModel):
    version: str
    python: str
    platform: str
    cpu_model: str
    cpu_cores: int = Field(description="Physical cores.")
    cpu_bf16: bool = Field(description="Native bf16 math (AVX512-BF16/AMX).")
    memory_total_bytes: int
    memory_available_bytes: int
    gpus: list[GpuInfo]
    torch_threads: int | None
    backends: list[BackendStatus]
    default_backend: str
    models_dir: str | None = Field(
        default=None,
        description="Models folder (absolute path); shown to admins only when auth is on.",
    )
    data_dir: str | None = Field(
        default=None,
        description="Data folder (absolute path); shown to admins only when auth is on.",
    )
    deployment: DeploymentInfo
