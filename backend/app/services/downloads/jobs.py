"""Download jobs as rows of the metadata database, so a restarted server knows what to resume."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import update

from app.core import tables
from app.core.db import Repository
from app.services.downloads.hub import RemoteFile, ResolvedSource

JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


@dataclass(frozen=True)
class DownloadJob:
    """A download as stored: what to fetch, where it goes, and how far it got."""

    id: str
    kind: str
    name: str
    single_file: bool
    files: list[RemoteFile]
    status: JobStatus
    repo_id: str | None = None
    revision: str | None = None
    commit: str | None = None
    url: str | None = None
    error: str | None = None
    error_code: str | None = None
    bytes_done: int = 0
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def bytes_total(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)

    @classmethod
    def new(cls, source: ResolvedSource, name: str) -> DownloadJob:
        return cls(
            id=uuid.uuid4().hex[:16],
            kind=source.kind,
            name=name,
            single_file=source.single_file,
            files=source.files,
            status="queued",
            repo_id=source.repo_id,
            revision=source.revision,
            commit=source.commit,
            url=source.url,
        )


class JobStore(Repository):
    """CRUD on ``download_jobs``; every write stamps ``updated_at``."""

    def insert(self, job: DownloadJob) -> None:
        self.db.insert(
            tables.download_jobs,
            {
                "id": job.id,
                "kind": job.kind,
                "repo_id": job.repo_id,
                "revision": job.revision,
                "commit_sha": job.commit,
                "url": job.url,
                "name": job.name,
                "single_file": int(job.single_file),
                "files": json.dumps([f.to_dict() for f in job.files]),
                "status": job.status,
                "error": job.error,
                "error_code": job.error_code,
                "bytes_total": job.bytes_total,
                "bytes_done": job.bytes_done,
                "created_at": job.created_at,
                "updated_at": job.updated_at,
                "finished_at": job.finished_at,
            },
        )

    def update(self, job: DownloadJob, **changes: object) -> DownloadJob:
        # **changes are DownloadJob fields by name; mypy cannot match kwargs of type object.
        job = replace(job, updated_at=time.time(), **changes)  # type: ignore[arg-type]
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE download_jobs SET status = :status, error = :error, "
                "error_code = :error_code, bytes_done = :bytes_done, updated_at = :updated_at, "
                "finished_at = :finished_at WHERE id = :id",
                {
                    "status": job.status,
                    "error": job.error,
                    "error_code": job.error_code,
                    "bytes_done": job.bytes_done,
                    "updated_at": job.updated_at,
                    "finished_at": job.finished_at,
                    "id": job.id,
                },
            )
        return job

    def update_if(
        self, job: DownloadJob, expect: tuple[str, ...], **changes: object
    ) -> DownloadJob | None:
        """Like :meth:`update`, but only while the stored status is one of ``expect`` (None
        when it is not: the job ended or was cancelled elsewhere)."""
        new = replace(job, updated_at=time.time(), **changes)  # type: ignore[arg-type]
        table = tables.download_jobs
        with self.db.transaction() as conn:
            cur = conn.execute(
                update(table)
                .where(table.c.id == new.id, table.c.status.in_(expect))
                .values(
                    status=new.status,
                    error=new.error,
                    error_code=new.error_code,
                    bytes_done=new.bytes_done,
                    updated_at=new.updated_at,
                    finished_at=new.finished_at,
                )
            )
        return new if cur.rowcount == 1 else None

    def save_progress(self, job_id: str, bytes_done: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE download_jobs SET bytes_done = :done, updated_at = :now WHERE id = :id",
                {"done": bytes_done, "now": time.time(), "id": job_id},
            )

    def delete(self, job_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM download_jobs WHERE id = :id", {"id": job_id})

    def get(self, job_id: str) -> DownloadJob | None:
        rows = self.db.query("SELECT * FROM download_jobs WHERE id = :id", {"id": job_id})
        return _from_row(rows[0]) if rows else None

    def all(self) -> list[DownloadJob]:
        rows = self.db.query("SELECT * FROM download_jobs ORDER BY created_at")
        return [_from_row(r) for r in rows]


def _from_row(row: object) -> DownloadJob:
    r = dict(row)  # type: ignore[call-overload]  # a RowMapping
    return DownloadJob(
        id=r["id"],
        kind=r["kind"],
        name=r["name"],
        single_file=bool(r["single_file"]),
        files=[RemoteFile(**f) for f in json.loads(r["files"])],
        status=r["status"],
        repo_id=r["repo_id"],
        revision=r["revision"],
        commit=r["commit_sha"],
        url=r["url"],
        error=r["error"],
        error_code=r["error_code"],
        bytes_done=r["bytes_done"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        finished_at=r["finished_at"],
    )
