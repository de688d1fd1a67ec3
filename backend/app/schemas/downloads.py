"""Download job types (``/api/v1/downloads``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

JobStatusName = Literal["queued", "running", "completed", "failed", "cancelled"]


class DownloadRequest(BaseModel):
    """A Hub repo (whole, by patterns, or chosen files) or one plain .gguf URL."""

    repo_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[\w.\-]+(/[\w.\-]+)?$",
        description="Hugging Face repo id, e.g. 'Qwen/Qwen2.5-0.5B-Instruct'.",
    )
    files: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="Exact files of the repo to fetch (relative paths). One .gguf file makes "
        "a single-file model.",
    )
    allow_patterns: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Glob patterns (fnmatch) of repo files to fetch, e.g. ['*.json', "
        "'*.safetensors']. Default: the whole repo minus duplicate weight formats.",
    )
    revision: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Branch, tag or commit; default 'main'. The job pins the commit it found.",
    )
    url: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="Plain http(s) URL of a .gguf file (instead of repo_id).",
    )
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="Expected sha256 of the URL's file; verified when given. Without it the "
        "bytes are not verified (only the size and the GGUF header are checked).",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Local model id (folder or .gguf file name under models/). Default: the "
        "repo's name, or the .gguf file name.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DownloadRequest:
        if self.repo_id is not None and any(
            part.startswith((".", "-")) for part in self.repo_id.split("/")
        ):
            raise ValueError("repo_id parts must not start with '.' or '-'")
        if (self.repo_id is None) == (self.url is None):
            raise ValueError("give exactly one of 'repo_id' or 'url'")
        if self.url is not None and (self.files or self.allow_patterns or self.revision):
            raise ValueError("'files', 'allow_patterns' and 'revision' apply to repo_id only")
        if self.files and self.allow_patterns:
            raise ValueError("give 'files' or 'allow_patterns', not both")
        return self


class DownloadFileInfo(BaseModel):
    path: str = Field(description="Path inside the model folder.")
    size_bytes: int | None = Field(description="Size announced by the source (None: unknown).")
    sha256: str | None = Field(default=None, description="sha256 the file is verified against.")
    verified_by: Literal["sha256", "git-sha1", "none"] = Field(
        default="none",
        description="How the file's bytes are checked: sha256 (Hub LFS files, URL downloads "
        "given sha256=), git-sha1 (small Hub files), or none (a URL download without sha256: "
        "only its size and file format are checked).",
    )


class DownloadJobInfo(BaseModel):
    """A download job and its live progress. Also the payload of its SSE ``progress`` events."""

    id: str = Field(description="Job id.")
    status: JobStatusName = Field(
        description="queued (waiting for a slot), running, completed (every file verified, "
        "model ready), failed (see error), cancelled (partial files kept; resume continues)."
    )
    kind: Literal["hub", "url"] = Field(description="hub: a Hugging Face repo; url: one file.")
    name: str = Field(description="Local model id the download becomes.")
    repo_id: str | None = Field(default=None, description="Hub repo, for hub jobs.")
    revision: str | None = Field(default=None, description="Revision asked for.")
    commit: str | None = Field(default=None, description="Hub commit the job is pinned to.")
    url: str | None = Field(default=None, description="Source URL, for url jobs.")
    files: list[DownloadFileInfo] = Field(description="Files the job fetches.")
    bytes_total: int | None = Field(description="Sum of file sizes (None: unknown).")
    bytes_done: int = Field(description="Bytes on disk so far, resumed ones included.")
    progress: float | None = Field(description="bytes_done / bytes_total, 0 to 1.")
    speed_bps: float | None = Field(description="Bytes per second over the last seconds.")
    eta_s: float | None = Field(description="Seconds left at the current speed.")
    current_file: str | None = Field(description="File being transferred now.")
    error: str | None = Field(default=None, description="Why the job failed.")
    error_code: str | None = Field(
        default=None, description="checksum_mismatch, insufficient_storage, network_error, ..."
    )
    model_id: str | None = Field(default=None, description="Ready model id once completed.")
    created_at: float = Field(description="Unix time the job was created.")
    updated_at: float = Field(description="Unix time of the last state change.")
    finished_at: float | None = Field(default=None, description="Unix time it completed or failed.")


class DownloadList(BaseModel):
    """Every download job, oldest first."""

    data: list[DownloadJobInfo]
