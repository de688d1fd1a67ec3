"""Conversations and their messages as rows of the metadata database.

The repository is the only code that knows the tables; the service above it speaks in records,
and the SQL below is portable (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.engine import RowMapping

from app.core.db import DbConnection, Repository, columns

Role = Literal["user", "assistant", "tool"]

_FIGURES = ("ttft_ms", "tokens_per_second", "prompt_tokens", "completion_tokens", "total_ms")


@dataclass
class MessageRecord:
    """A stored message; assistant messages carry their model, parameters and figures."""

    role: Role
    content: str
    id: str = field(default_factory=lambda: "msg_" + uuid.uuid4().hex[:20])
    created_at: float = field(default_factory=time.time)
    model: str | None = None
    backend: str | None = None
    parameters: dict[str, Any] | None = None
    finish_reason: str | None = None
    figures: dict[str, float | int | None] | None = None
    # An assistant message that called MCP tools: each call's id, server, tool, name (as the
    # model was offered it) and arguments (JSON text).
    tool_calls: list[dict[str, str]] | None = None
    tool_call_id: str | None = None  # a tool message: the call it answers
    # A tool message: server, tool, status, duration_ms and truncated of its result.
    tool_result: dict[str, Any] | None = None


@dataclass
class ConversationRecord:
    """A stored conversation; ``messages`` is filled by :meth:`ConversationStore.get`."""

    id: str
    title: str
    model: str | None
    backend: str | None
    system: str | None
    created_at: float
    updated_at: float
    message_count: int = 0
    messages: list[MessageRecord] = field(default_factory=list)


class ConversationStore(Repository):
    """CRUD on ``conversations`` and ``conversation_messages``."""

    def create(
        self, title: str, model: str | None, backend: str | None, system: str | None
    ) -> ConversationRecord:
        now = time.time()
        record = ConversationRecord(
            id="conv_" + uuid.uuid4().hex[:20],
            title=title,
            model=model,
            backend=backend,
            system=system,
            created_at=now,
            updated_at=now,
        )
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations (id, title, model, backend, system, created_at, "
                "updated_at) VALUES (:id, :title, :model, :backend, :system, :now, :now)",
                {
                    "id": record.id,
                    "title": title,
                    "model": model,
                    "backend": backend,
                    "system": system,
                    "now": now,
                },
            )
        return record

    def search(self, query: str | None = None, limit: int = 100) -> list[ConversationRecord]:
        """Most recently changed first; ``query`` matches title or any message's text."""
        sql = (
            "SELECT c.*, (SELECT COUNT(*) FROM conversation_messages m "
            "WHERE m.conversation_id = c.id) AS message_count FROM conversations c"
        )
        params: dict[str, object] = {"limit": limit}
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["pattern"] = f"%{escaped}%"
            # LOWER on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
            sql += (
                " WHERE LOWER(c.title) LIKE LOWER(:pattern) ESCAPE '\\' OR EXISTS (SELECT 1 "
                "FROM conversation_messages m WHERE m.conversation_id = c.id AND "
                "LOWER(m.content) LIKE LOWER(:pattern) ESCAPE '\\')"
            )
        sql += " ORDER BY c.updated_at DESC LIMIT :limit"
        return [_conversation(r) for r in self.db.query(sql, params)]

    def get(self, conversation_id: str) -> ConversationRecord | None:
        rows = self.db.query("SELECT * FROM conversations WHERE id = :id", {"id": conversation_id})
        if not rows:
            return None
        record = _conversation(rows[0])
        record.messages = [
            _message(r)
            for r in self.db.query(
                "SELECT * FROM conversation_messages WHERE conversation_id = :id ORDER BY position",
                {"id": conversation_id},
            )
        ]
        record.message_count = len(record.messages)
        return record

    def update(self, conversation_id: str, **changes: str | None) -> None:
        """Set the given columns (title, model, backend, system)."""
        allowed = {"title", "model", "backend", "system"}
        assert set(changes) <= allowed, changes
        if not changes:
            return
        sets = ", ".join(f"{name} = :{name}" for name in changes)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE conversations SET {sets}, updated_at = :now WHERE id = :id",
                {**changes, "now": time.time(), "id": conversation_id},
            )

    def delete(self, conversation_id: str) -> bool:
        with self.db.transaction() as conn:
            cur = conn.execute("DELETE FROM conversations WHERE id = :id", {"id": conversation_id})
            return cur.rowcount > 0

    def replace_tail(self, conversation_id: str, keep: int, messages: list[MessageRecord]) -> None:
        """Keep the first ``keep`` messages, drop the rest, then append ``messages``: one
        transaction, so an edit or a regenerate never leaves half a conversation."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM conversation_messages WHERE conversation_id = :id "
                "AND position >= :keep",
                {"id": conversation_id, "keep": keep},
            )
            for offset, message in enumerate(messages):
                _insert(conn, conversation_id, keep + offset, message)
            conn.execute(
                "UPDATE conversations SET updated_at = :now WHERE id = :id",
                {"now": time.time(), "id": conversation_id},
            )


def _insert(conn: DbConnection, conversation_id: str, position: int, m: MessageRecord) -> None:
    figures = m.figures or {}
    conn.execute(
        "INSERT INTO conversation_messages (id, conversation_id, position, role, content, "
        "created_at, model, backend, parameters, finish_reason, ttft_ms, tokens_per_second, "
        "prompt_tokens, completion_tokens, total_ms, tool_calls, tool_call_id, tool_result) "
        "VALUES (:id, :conversation_id, :position, :role, :content, :created_at, :model, "
        ":backend, :parameters, :finish_reason, :ttft_ms, :tokens_per_second, :prompt_tokens, "
        ":completion_tokens, :total_ms, :tool_calls, :tool_call_id, :tool_result)",
        {
            "id": m.id,
            "conversation_id": conversation_id,
            "position": position,
            "role": m.role,
            "content": m.content,
            "created_at": m.created_at,
            "model": m.model,
            "backend": m.backend,
            "parameters": None if m.parameters is None else json.dumps(m.parameters),
            "finish_reason": m.finish_reason,
            **{name: figures.get(name) for name in _FIGURES},
            "tool_calls": None if m.tool_calls is None else json.dumps(m.tool_calls),
            "tool_call_id": m.tool_call_id,
            "tool_result": None if m.tool_result is None else json.dumps(m.tool_result),
        },
    )


def _conversation(row: RowMapping) -> ConversationRecord:
    r = dict(row)
    return ConversationRecord(
        **columns(r, "id", "title", "model", "backend", "system", "created_at", "updated_at"),
        message_count=r.get("message_count") or 0,
    )


def _message(row: RowMapping) -> MessageRecord:
    r = dict(row)
    has_figures = r["role"] == "assistant"
    return MessageRecord(
        **columns(r, "id", "role", "content", "created_at", "model", "backend", "finish_reason"),
        parameters=None if r["parameters"] is None else json.loads(r["parameters"]),
        figures={name: r[name] for name in _FIGURES} if has_figures else None,
        tool_calls=None if r["tool_calls"] is None else json.loads(r["tool_calls"]),
        tool_call_id=r["tool_call_id"],
        tool_result=None if r["tool_result"] is None else json.loads(r["tool_result"]),
    )
