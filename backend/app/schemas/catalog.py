"""Model catalog types (``GET /api/v1/models/catalog``) and model deletion."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MemoryFit(BaseModel):
    """Whether a model is likely to fit in this machine's free memory."""

    fits: bool | None = Field(
        description="True when required_bytes <= available_bytes; None "
        "when the model's size is unknown."
    )
    required_bytes: int | None = Field(
        description="Estimated memory to run it: weights plus "
        "about 15% and 200 MB for runtime and KV cache."
    )
    available_bytes: int = Field(
        description="Free RAM now, or the largest free GPU memory when a GPU is present."
    )


CatalogStatus = Literal["available", "downloading", "ready"]


class CatalogEntry(BaseModel):
    """A model one can run: already local, curated, or found on the Hub."""

    id: str = Field(
        description="Local model id when source is local; else the curated id or Hub repo id."
    )
    name: str = Field(description="Local model id it has or will have after download.")
    source: Literal["local", "curated", "hub", "ollama"]
    repo: str | None = Field(default=None, description="Hugging Face repo id to download from.")
    files: list[str] | None = Field(
        default=None, description="Files to download (None: the repo filtered by allow_patterns)."
    )
    allow_patterns: list[str] | None = Field(default=None, description="Patterns to download.")
    format: Literal["hf", "gguf", "ollama", "remote"] | None = Field(
        description="Weights format (None when the Hub does not say)."
    )
    size_bytes: int | None = Field(description="Bytes on disk (local) or to download.")
    parameters: int | None = Field(description="Parameter count where known.")
    quantization: str | None = Field(description="bf16, f32, Q4_K_M, ... where known.")
    suggested_backend: str | None = Field(description="Backend that serves this format best.")
    license: str | None = None
    description: str | None = None
    bundled: bool = Field(
        default=False,
        description="The bundled SmolLM2-135M-Instruct placed "
        "by setup (135M, for trying the product).",
    )
    downloads: int | None = Field(default=None, description="Hub download count (hub entries).")
    memory_fit: MemoryFit
    status: CatalogStatus = Field(
        description="ready: local and complete; downloading: a job is fetching it; available: "
        "can be downloaded."
    )


class CatalogResponse(BaseModel):
    """Catalog entries and whether the Hub could be searched."""

    data: list[CatalogEntry]
    hub: Literal["online", "offline"] = Field(description="Whether the Hub answered.")
    hub_detail: str | None = Field(default=None, description="Why the Hub is offline.")
    hub_endpoint: str = Field(description="The Hub address used (HF_ENDPOINT).")


class DeletedModel(BaseModel):
    """A model whose files were removed."""

    id: str = Field(description="The deleted model id.")
    freed_bytes: int = Field(description="Bytes the deleted files took on disk.")
