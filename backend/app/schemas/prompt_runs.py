"""Prompt-set run types (``/api/v1/arena/runs``): a set of prompts run on 2-6 models with one
parameter set, each cell (row x model) with its figures and automatic checks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import (
    MAX_STOP_SEQUENCES,
    MaxTokens,
    RepetitionPenalty,
    Seed,
    Temperature,
    Text,
    TopK,
    TopP,
)
from app.schemas.compare import CompareTarget

CheckName = Literal["exact", "contains", "regex", "json_schema"]
CHECK_NAMES: tuple[CheckName, ...] = ("exact", "contains", "regex", "json_schema")
RunStatus = Literal["running", "cancelling", "completed", "cancelled", "failed"]
Thumb = Literal["up", "down"]


class PromptRow(BaseModel):
    """One row of a prompt set. Every check the row gives is run on every model's answer."""

    id: str | None = Field(default=None, max_length=200, description="Optional row label.")
    prompt: Text = Field(min_length=1, max_length=100_000, description="The user message.")
    system: Text | None = Field(default=None, max_length=100_000, description="System prompt.")
    expected: Text | None = Field(
        default=None,
        max_length=100_000,
        description="Expected answer: check 'exact' passes when the answer, stripped of "
        "surrounding whitespace, equals it.",
    )
    contains: list[Text] = Field(
        default_factory=list,
        max_length=32,
        description="Check 'contains': every string must occur in the answer (case-sensitive).",
    )
    regex: str | None = Field(
        default=None,
        max_length=2000,
        description="Check 'regex': a Python regular expression that must match somewhere.",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="Check 'json_schema': the answer must be JSON following this schema. Models "
        "whose backend supports structured output generate under it as a constraint.",
    )


class RunParameters(BaseModel):
    """One parameter set for every cell; unset knobs come from each model's defaults."""

    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    repetition_penalty: RepetitionPenalty | None = None
    seed: Seed | None = Field(
        default=None, description="Sampling seed; the server picks (and stores) one if unset."
    )
    stop: list[Text] = Field(default_factory=list, max_length=MAX_STOP_SEQUENCES)


class PromptRunConfig(BaseModel):
    """What to run the rows on (the ``config`` field of a multipart upload)."""

    name: Text | None = Field(default=None, max_length=200, description="A name for the run.")
    models: list[CompareTarget] = Field(
        min_length=2,
        max_length=6,
        description="2 to 6 models; a model with a backend is named 'model@backend'.",
    )
    params: RunParameters = Field(default_factory=RunParameters)


class PromptRunCreate(PromptRunConfig):
    """A run from pasted rows: ``rows`` (objects), or ``text`` (JSONL or CSV)."""

    rows: list[Any] | None = Field(
        default=None, max_length=10_000, description="Row objects (see PromptRow)."
    )
    text: str | None = Field(
        default=None,
        max_length=20_000_000,
        description="A prompt set as text: JSONL (one row object per line) or CSV (header "
        "with 'prompt' and any of id, system, expected, contains, regex, json_schema).",
    )
    format: Literal["jsonl", "csv"] | None = Field(
        default=None, description="Format of ``text``; guessed from its first character if unset."
    )


class ManifestModel(BaseModel):
    """One model of a run as it was when the run was made."""

    label: str = Field(description="The column name: the model id, or 'model@backend'.")
    model: str
    backend: str | None = Field(description="The backend chosen for it (None if none could be).")
    format: str
    size_bytes: int
    sha256: str | None = Field(
        description="SHA-256 over the model's files (a folder: each relative path and its "
        "bytes, in sorted order); None for models served by another server."
    )


class RunManifest(BaseModel):
    """Everything needed to run the same thing again and to tell whether it was."""

    models: list[ManifestModel]
    params: RunParameters = Field(description="The parameters, seed included.")
    seed: int
    rows_sha256: str = Field(description="SHA-256 of the rows as canonical JSON.")
    app_version: str
    created_at: float
    rerun_of: str | None = None
    changed_models: list[str] = Field(
        default_factory=list,
        description="On a re-run: the labels whose file digest differs from the original run.",
    )


class CheckResult(BaseModel):
    name: CheckName
    passed: bool
    detail: str | None = Field(default=None, description="Why it failed, when it did.")


class RunCell(BaseModel):
    """The answer of one model to one row, stored as soon as it finished."""

    row: int = Field(description="Row number, from 1.")
    model: str = Field(description="Column label.")
    status: Literal["pending", "completed", "failed"]
    text: str | None = None
    finish_reason: str | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_ms: float | None = None
    backend: str | None = Field(default=None, description="Backend that served it.")
    constrained: bool = Field(
        default=False, description="Generated under the row's JSON schema as a constraint."
    )
    checks: list[CheckResult] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the cell failed.")
    finished_at: float | None = None
    thumb: Thumb | None = None


class CheckSummary(BaseModel):
    name: CheckName
    passed: int
    total: int
    rate: float | None


class ModelSummary(BaseModel):
    model: str
    completed: int
    failed: int
    median_ttft_ms: float | None
    median_tokens_per_s: float | None
    completion_tokens: int
    checks: list[CheckSummary]
    thumbs_up: int
    thumbs_down: int


class RunProgress(BaseModel):
    total: int
    completed: int
    failed: int


class PromptRunInfo(BaseModel):
    id: str
    name: str
    status: RunStatus
    created_at: float
    finished_at: float | None
    models: list[str]
    rows: int
    progress: RunProgress
    rerun_of: str | None = None


class PromptRun(PromptRunInfo):
    """A run with its rows, cells (row-major), per-model summaries and manifest."""

    columns: list[CompareTarget]
    prompts: list[PromptRow]
    manifest: RunManifest
    cells: list[RunCell]
    summaries: list[ModelSummary]


class PromptRunList(BaseModel):
    data: list[PromptRunInfo]


class RatingRequest(BaseModel):
    thumb: Thumb | None = Field(description="up, down, or null to clear.")


class RunEvent(BaseModel):
    """A ``progress`` event: counts, and the cells finished since the previous event."""

    status: RunStatus
    progress: RunProgress
    cells: list[RunCell]
