"""Batch records and their lines in the metadata database. A line's result is written (and
committed) before it counts as done: request counts are computed from the lines, so a crash can
lose at most the work in flight, never a recorded result, and no line is ever counted twice."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from app.core import tables
from app.core.db import Repository
from app.core.errors import NotFound
from app.schemas.batches import BATCH_ENDPOINTS, Batch, RequestCounts
from app.services.batches.lines import BatchLine

ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")


class BatchStore(Repository):
    def create(self, batch: Batch, lines: list[BatchLine]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO batches (id, data, created_at) VALUES (:id, :data, :now)",
                {"id": batch.id, "data": batch.model_dump_json(), "now": time.time()},
            )
            conn.executemany(
                "INSERT INTO batch_lines (batch_id, line_no, custom_id, url, body) "
                "VALUES (:batch_id, :line_no, :custom_id, :url, :body)",
                [
                    {
                        "batch_id": batch.id,
                        "line_no": ln.line_no,
                        "custom_id": ln.custom_id,
                        "url": ln.url,
                        "body": json.dumps(ln.body),
                    }
                    for ln in lines
                ],
            )

    def get(self, batch_id: str) -> Batch:
        rows = self.db.query("SELECT data FROM batches WHERE id = :id", {"id": batch_id})
        if not rows:
            raise NotFound(f"No batch with id '{batch_id}'.", code="batch_not_found")
        batch = Batch.model_validate_json(rows[0]["data"])
        batch.request_counts = self.counts(batch_id)
        return batch

    def save(self, batch: Batch) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE batches SET data = :data WHERE id = :id",
                {"data": batch.model_dump_json(), "id": batch.id},
            )

    def save_if_active(self, batch: Batch) -> bool:
        """Save a batch only while its stored status is still active (a final state is written
        once, even when two runs of the same job reach the end)."""
        with self.db.transaction() as conn:
            # The status lives in the JSON document: read it under a row lock (FOR UPDATE on
            # PostgreSQL; SQLite's write transaction already holds the database), then write.
            row = conn.execute(
                select(tables.batches.c.data)
                .where(tables.batches.c.id == batch.id)
                .with_for_update()
            ).fetchone()
            if row is None or json.loads(row["data"])["status"] not in ACTIVE:
                return False
            conn.execute(
                "UPDATE batches SET data = :data WHERE id = :id",
                {"data": batch.model_dump_json(), "id": batch.id},
            )
            return True

    def page(self, limit: int, after: str | None = None) -> list[Batch]:
        """OpenAI batches, newest first (internal jobs such as prompt-set runs are left out)."""
        rows = self.db.query("SELECT id, data FROM batches ORDER BY created_at DESC")
        ids = [r["id"] for r in rows if json.loads(r["data"])["endpoint"] in BATCH_ENDPOINTS]
        if after in ids:
            ids = ids[ids.index(after) + 1 :]
        return [self.get(i) for i in ids[:limit]]

    def active_ids(self) -> list[str]:
        rows = self.db.query("SELECT id, data FROM batches ORDER BY created_at")
        return [r["id"] for r in rows if json.loads(r["data"])["status"] in ACTIVE]

    def counts(self, batch_id: str) -> RequestCounts:
        rows = self.db.query(
            "SELECT status, COUNT(*) AS n FROM batch_lines WHERE batch_id = :id GROUP BY status",
            {"id": batch_id},
        )
        by = {r["status"]: r["n"] for r in rows}
        return RequestCounts(
            total=sum(by.values()), completed=by.get("completed", 0), failed=by.get("failed", 0)
        )

    def pending(self, batch_id: str) -> list[BatchLine]:
        rows = self.db.query(
            "SELECT line_no, custom_id, url, body FROM batch_lines "
            "WHERE batch_id = :id AND status = 'pending' ORDER BY line_no",
            {"id": batch_id},
        )
        return [
            BatchLine(r["line_no"], r["custom_id"], r["url"], json.loads(r["body"])) for r in rows
        ]

    def record(self, batch_id: str, line_no: int, ok: bool, result: dict[str, Any]) -> bool:
        """Store a line's result once (False if it already had one)."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE batch_lines SET status = :status, result = :result "
                "WHERE batch_id = :id AND line_no = :line_no AND status = 'pending'",
                {
                    "status": "completed" if ok else "failed",
                    "result": json.dumps(result),
                    "id": batch_id,
                    "line_no": line_no,
                },
            )
            return cur.rowcount == 1

    def results(self, batch_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(status, result line) of every finished line, in input order."""
        rows = self.db.query(
            "SELECT status, result FROM batch_lines WHERE batch_id = :id AND "
            "status != 'pending' ORDER BY line_no",
            {"id": batch_id},
        )
        return [(r["status"], json.loads(r["result"])) for r in rows]

    def line_results(self, batch_id: str) -> dict[int, tuple[str, dict[str, Any] | None]]:
        """line number -> (status, result or None while pending) of every line."""
        rows = self.db.query(
            "SELECT line_no, status, result FROM batch_lines WHERE batch_id = :id",
            {"id": batch_id},
        )
        return {
            r["line_no"]: (r["status"], json.loads(r["result"]) if r["result"] else None)
            for r in rows
        }
