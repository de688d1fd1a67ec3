"""Prompt-set runs in the metadata database: the run records and the thumbs on their cells.
The cells themselves are the lines of the run's batch (``batch_lines``), so each is committed
the moment it finishes and a restart never runs a finished one again."""

from __future__ import annotations

import time

from pydantic import BaseModel

from app.core import tables
from app.core.db import Repository
from app.core.errors import NotFound
from app.schemas.compare import CompareTarget
from app.schemas.prompt_runs import PromptRow, RunManifest, RunParameters, Thumb


class RunRecord(BaseModel):
    """What a run was asked to do; never changes after creation."""

    id: str
    batch_id: str
    name: str
    columns: list[CompareTarget]
    labels: list[str]
    rows: list[PromptRow]
    params: RunParameters
    manifest: RunManifest
    created_at: float
    rerun_of: str | None = None

    def line_no(self, row: int, column: int) -> int:
        """The batch line of cell (row from 1, column from 0)."""
        return (row - 1) * len(self.columns) + column + 1


class RunStore(Repository):
    """Prompt-set runs (the run's record as JSON) and their per-cell ratings."""

    def create(self, record: RunRecord) -> None:
        self.db.insert(
            tables.prompt_runs,
            {
                "id": record.id,
                "batch_id": record.batch_id,
                "data": record.model_dump_json(),
                "created_at": record.created_at,
            },
        )

    def get(self, run_id: str) -> RunRecord:
        rows = self.db.query("SELECT data FROM prompt_runs WHERE id = :id", {"id": run_id})
        if not rows:
            raise NotFound(f"No prompt-set run with id '{run_id}'.", code="run_not_found")
        return RunRecord.model_validate_json(rows[0]["data"])

    def all(self) -> list[RunRecord]:
        rows = self.db.query("SELECT data FROM prompt_runs ORDER BY created_at DESC")
        return [RunRecord.model_validate_json(r["data"]) for r in rows]

    def set_thumb(self, run_id: str, row: int, model: str, thumb: Thumb | None) -> None:
        with self.db.transaction() as conn:
            if thumb is None:
                conn.execute(
                    "DELETE FROM prompt_run_ratings WHERE run_id = :run_id AND row_no = :row_no "
                    "AND model = :model",
                    {"run_id": run_id, "row_no": row, "model": model},
                )
            else:
                conn.upsert(
                    tables.prompt_run_ratings,
                    {
                        "run_id": run_id,
                        "row_no": row,
                        "model": model,
                        "thumb": thumb,
                        "rated_at": time.time(),
                    },
                    keys=("run_id", "row_no", "model"),
                )

    def thumbs(self, run_id: str) -> dict[tuple[int, str], Thumb]:
        rows = self.db.query(
            "SELECT row_no, model, thumb FROM prompt_run_ratings WHERE run_id = :id",
            {"id": run_id},
        )
        return {(r["row_no"], r["model"]): r["thumb"] for r in rows}

    def rated_run_ids(self) -> list[str]:
        """Runs with at least one thumb, oldest first."""
        rows = self.db.query(
            "SELECT r.id FROM prompt_runs r WHERE EXISTS (SELECT 1 FROM prompt_run_ratings t "
            "WHERE t.run_id = r.id) ORDER BY r.created_at"
        )
        return [r["id"] for r in rows]
