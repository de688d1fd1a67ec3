"""Stored Responses (``store: true``): the response object, this turn's input items and the
conversation it ends, so ``previous_response_id`` can continue it. One SQLite table."""

from __future__ import annotations

import json
import time
from typing import Any

from app.core.db import Database
from app.core.errors import NotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    model TEXT NOT NULL,
    previous_response_id TEXT,
    input_items TEXT NOT NULL,
    history TEXT NOT NULL,
    response TEXT NOT NULL
);
"""


class ResponsesStore:
    """Repository of stored responses. ``history`` is the list of ``{role, content}`` turns
    the response answered plus its own answer (instructions are not part of it: OpenAI does
    not carry them to the next turn)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(_SCHEMA)

    def save(
        self,
        response: dict[str, Any],
        input_items: list[dict[str, Any]],
        history: list[dict[str, str]],
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    response["id"],
                    time.time(),
                    response["model"],
                    response.get("previous_response_id"),
                    json.dumps(input_items),
                    json.dumps(history),
                    json.dumps(response),
                ),
            )

    def _row(self, response_id: str, param: str | None = None):
        rows = self.db.query("SELECT * FROM responses WHERE id = ?", (response_id,))
        if not rows:
            raise NotFound(
                f"No stored response with id '{response_id}'.",
                param=param,
                code="response_not_found",
            )
        return rows[0]

    def get(self, response_id: str) -> dict[str, Any]:
        return json.loads(self._row(response_id)["response"])

    def history(self, response_id: str) -> list[dict[str, str]]:
        """The conversation up to and including ``response_id``'s answer (404 if unknown)."""
        return json.loads(self._row(response_id, "previous_response_id")["history"])

    def input_items(self, response_id: str) -> list[dict[str, Any]]:
        return json.loads(self._row(response_id)["input_items"])

    def delete(self, response_id: str) -> None:
        self._row(response_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM responses WHERE id = ?", (response_id,))
