"""Types of the backend routes (``/api/v1/backends``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class UpstreamModel(BaseModel):
    """A model another server offers, usable here under ``id``."""

    id: str = Field(description="Model id to use here, e.g. ollama:llama3.2.")
    size_bytes: int = Field(description="Bytes on the other server's disk (0 when unknown).")
    modified_at: str | None = Field(default=None, description="When it changed there.")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="Format, family, parameter size and quantization as the server reports.",
    )


class UpstreamModels(BaseModel):
    host: str = Field(description="Server asked.")
    models: list[UpstreamModel]
