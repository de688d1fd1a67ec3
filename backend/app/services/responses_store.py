"""Stored Responses (``store: true``): the response object, this turn's input items and the
conversation it ends, so ``previous_response_id`` can continue it. One table (``responses``)."""

from __future__ import annotations

import json
import time
from typing import Any

from app.core import tables
from app.core.db import Repository
from app.core.errors import NotFound


class ResponsesStore(Repository):
    """Repository of stored responses. ``history`` is the list of ``{role, content}`` turns
    the response answered plus its own answer (instructions are not part of it: OpenAI does
    not carry them to the next turn)."""

    def save(
        self,
        response: dict[str, Any],
        input_items: list[dict[str, Any]],
        history: list[dict[str, str]],
    ) -> None:
        with self.db.transaction() as conn:
            conn.upsert(
                tables.responses,
                {
                    "id": response["id"],
                    "created_at": time.time(),
                    "model": response["model"],
                    "previous_response_id": response.get("previous_response_id"),
                    "input_items": json.dumps(input_items),
                    "history": json.dumps(history),
                    "response": json.dumps(response),
                },
                keys=("id",),
            )

    def _row(self, response_id: str, param: str | None = None):
        rows = self.db.query("SELECT * FROM responses WHERE id = :id", {"id": response_id})
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
            conn.execute("DELETE FROM responses WHERE id = :id", {"id": response_id})
