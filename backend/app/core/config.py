"""All settings of the server in one place.

Every field is read from the environment with the ``MP_`` prefix (``MP_PORT=9000``) or from a
``.env`` file in the working directory; ``.env.example`` at the repository root documents each
one. Code reads settings through :func:`get_settings` (cached) or, inside request handlers, the
``SettingsDep`` dependency, so tests can build an app with their own ``Settings`` instance.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]

DeviceSetting = Literal["auto", "cpu", "cuda"]
DtypeSetting = Literal["auto", "bf16", "fp16", "fp32"]


class Settings(BaseSettings):
    """Server configuration. Field descriptions double as the documentation of each variable."""

    model_config = SettingsConfigDict(
        env_prefix="MP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        protected_namespaces=(),
    )

    # --- where things live -------------------------------------------------------------------
    models_dir: Path = Field(
        default=REPO_ROOT / "models",
        description="Folder scanned for local models (HF-format folders and .gguf files); "
        "downloads land here too.",
    )
    data_dir: Path = Field(
        default=REPO_ROOT / "data",
        description="Folder for the SQLite database, uploaded documents and the embedded "
        "ChromaDB store.",
    )
    frontend_dist: Path = Field(
        default=REPO_ROOT / "frontend" / "dist",
        description="Built playground UI served at '/'. The API works without it.",
    )

    # --- serving -------------------------------------------------------------------------------
    host: str = Field(
        default="127.0.0.1",
        description="Address to bind. Keep 127.0.0.1 on a workstation; containers set 0.0.0.0.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on.")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:5173", "http://localhost:5173"],
        description="Origins allowed by CORS (JSON list). The Vite dev server is allowed by "
        "default; the built UI is same-origin and needs nothing.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level of the server and uvicorn."
    )

    # --- models and generation -----------------------------------------------------------------
    default_model: str | None = Field(
        default=None,
        description="Model used when a native API request names none. Unset: the first local "
        "model found.",
    )
    preload_default_model: bool = Field(
        default=False, description="Load the default model at start-up instead of on first use."
    )
    default_backend: str = Field(
        default="auto",
        description="Backend used when a request or model names none: 'auto' picks by model "
        "format and machine, or name one ('transformers').",
    )
    device: DeviceSetting = Field(
        default="auto", description="Device for in-process backends: auto picks cuda when present."
    )
    dtype: DtypeSetting = Field(
        default="auto",
        description="Weights dtype for the Transformers backend: auto is bf16 on CPUs with "
        "AVX512-BF16/AMX and on CUDA, else fp32.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads for inference (torch and llama.cpp). Unset: the number of "
        "physical cores torch detects.",
    )
    max_new_tokens_cap: int = Field(
        default=4096,
        ge=1,
        description="Upper bound on max_tokens of any request; larger requests are refused.",
    )
    default_max_new_tokens: int = Field(
        default=256,
        ge=1,
        description="max_tokens used when a request gives none (still limited by the context).",
    )

    @field_validator("models_dir", "data_dir", "frontend_dist")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def database_path(self) -> Path:
        """SQLite file holding jobs, documents and other state that survives a restart."""
        return self.data_dir / "playground.sqlite3"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
