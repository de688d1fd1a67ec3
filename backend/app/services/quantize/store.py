"""Quantization jobs and the lineage of the models they wrote, as rows of the metadata database.

``quantize_jobs`` holds each request (source model, types, status and stage), so a restarted
server or another worker can run it from the row alone; ``quantized_models`` holds one row per
finished output (parent, type, size, parameters, bits per weight, job), which the model listing
joins by file name.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.core import tables
from app.core.db import Repository
from app.services.jobs.service import ACTIVE


@dataclass(frozen=True)
class QuantizeJob:
    """A quantization as stored: the source, the types in order, and how far it got."""

    id: str
    model: str
    source_format: str
    types: list[str]
    status: str = "queued"
    stage: str | None = None
    current: int = 0  # outputs finished so far
    warning: str | None = None
    error: str | None = None
    error_code: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @classmethod
    def new(cls, model: str, source_format: str, types: list[str], warning: str | None):
        return cls(uuid.uuid4().hex[:16], model, source_format, types, warning=warning)


@dataclass(frozen=True)
class Lineage:
    """Where a quantized model came from, and what it measures."""

    name: str
    job_id: str
    parent: str
    type: str
    size_bytes: int
    parameters: int
    bits_per_weight: float
    created_at: float = field(default_factory=time.time)


class QuantizeStore(Repository):
    """SQL of the two quantization tables."""

    # --- jobs ---------------------------------------------------------------------------------
    def insert(self, job: QuantizeJob) -> None:
        self.db.insert(tables.quantize_jobs, {**job.__dict__, "types": json.dumps(job.types)})

    def get(self, job_id: str) -> QuantizeJob | None:
        rows = self.db.query("SELECT * FROM quantize_jobs WHERE id = :id", {"id": job_id})
        return _job(rows[0]) if rows else None

    def all(self) -> list[QuantizeJob]:
        return [_job(r) for r in self.db.query("SELECT * FROM quantize_jobs ORDER BY created_at")]

    def active_ids(self) -> list[str]:
        rows = self.db.query(
            "SELECT id FROM quantize_jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
        )
        return [r["id"] for r in rows]

    def update(self, job_id: str, expect: tuple[str, ...] = ACTIVE, **fields: Any) -> bool:
        """Change a row while its status is one of ``expect``; False when it is not (it ended,
        was cancelled or deleted elsewhere)."""
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{k} = :{k}" for k in fields)
        marks = ", ".join(f":s{i}" for i in range(len(expect)))
        with self.db.transaction() as conn:
            cur = conn.execute(
                f"UPDATE quantize_jobs SET {assignments} WHERE id = :id AND status IN ({marks})",
                {**fields, "id": job_id, **{f"s{i}": s for i, s in enumerate(expect)}},
            )
            return bool(cur.rowcount)

    def delete(self, job_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM quantize_jobs WHERE id = :id", {"id": job_id})

    # --- lineage ------------------------------------------------------------------------------
    def add_lineage(self, row: Lineage) -> None:
        with self.db.transaction() as conn:
            # A name is reused only after its model was deleted: the new lineage replaces it.
            conn.execute("DELETE FROM quantized_models WHERE name = :name", {"name": row.name})
            conn.execute(
                "INSERT INTO quantized_models (name, job_id, parent, type, size_bytes, "
                "parameters, bits_per_weight, created_at) VALUES (:name, :job_id, :parent, "
                ":type, :size_bytes, :parameters, :bits_per_weight, :created_at)",
                row.__dict__,
            )

    def lineage(self) -> dict[str, Lineage]:
        rows = self.db.query("SELECT * FROM quantized_models")
        return {r["name"]: Lineage(**dict(r)) for r in rows}

    def outputs(self, job_id: str) -> list[Lineage]:
        rows = self.db.query(
            "SELECT * FROM quantized_models WHERE job_id = :id ORDER BY created_at", {"id": job_id}
        )
        return [Lineage(**dict(r)) for r in rows]


def _job(row: Any) -> QuantizeJob:
    r = dict(row)
    r["types"] = json.loads(r["types"])
    return QuantizeJob(**r)
