"""Prompt-set runs in SQLite: the run records and the thumbs on their cells. The cells
themselves are the lines of the run's batch (``batch_lines``), so each is committed the
moment it finishes and a restart never runs a finished one again."""

from __future__ import annotations

import time

from pydantic import BaseModel

from app.core.db import Database
from app.core.errors import NotFound
from app.schemas.compare import CompareTarget
from app.schemas.prompt_runs import PromptRow, RunManifest, RunParameters, Thumb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS prompt_runs (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS prompt_run_ratings (
    run_id TEXT NOT NULL REFERENCES prompt_runs(id) ON DELETE CASCADE,
    row_no INTEGER NOT NULL,
    model TEXT NOT NULL,
    thumb TEXT NOT NULL,
    rated_at REAL NOT NULL,
    PRIMARY KEY (run_id, row_no, model)
);
"""


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


class RunStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(_SCHEMA)

    def create(self, record: RunRecord) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO prompt_runs VALUES (?, ?, ?, ?)",
                (record.id, record.batch_id, record.model_dump_json(), record.created_at),
            )

    def get(self, run_id: str) -> RunRecord:
        rows = self.db.query("SELECT data FROM prompt_runs WHERE id = ?", (run_id,))
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
                    "DELETE FROM prompt_run_ratings WHERE run_id = ? AND row_no = ? AND model = ?",
                    (run_id, row, model),
                )
            else:
                conn.execute(
                    "INSERT INTO prompt_run_ratings VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                    "(run_id, row_no, model) DO UPDATE SET thumb = excluded.thumb, "
                    "rated_at = excluded.rated_at",
                    (run_id, row, model, thumb, time.time()),
                )

    def thumbs(self, run_id: str) -> dict[tuple[int, str], Thumb]:
        rows = self.db.query(
            "SELECT row_no, model, thumb FROM prompt_run_ratings WHERE run_id = ?", (run_id,)
        )
        return {(r["row_no"], r["model"]): r["thumb"] for r in rows}

    def rated_run_ids(self) -> list[str]:
        """Runs with at least one thumb, oldest first."""
        rows = self.db.query(
            "SELECT r.id FROM prompt_runs r WHERE EXISTS (SELECT 1 FROM prompt_run_ratings t "
            "WHERE t.run_id = r.id) ORDER BY r.created_at"
        )
        return [r["id"] for r in rows]
