"""Arena battles and their votes as rows in the app's SQLite database.

A battle is written once, complete (prompt, both answers, their figures), before its id is
handed to the client; a vote is one row per battle (``UNIQUE``), so a second vote fails in the
database itself and two racing votes cannot both be counted. Calls are blocking (milliseconds):
the service runs them in a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from app.core.db import Database
from app.services.arena.votes import Winner

_DDL = """
CREATE TABLE IF NOT EXISTS arena_battles (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    prompt TEXT NOT NULL,
    system TEXT,
    params TEXT NOT NULL,
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    answer_a TEXT NOT NULL,
    answer_b TEXT NOT NULL,
    figures_a TEXT NOT NULL,
    figures_b TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS arena_votes (
    battle_id TEXT NOT NULL UNIQUE REFERENCES arena_battles(id) ON DELETE CASCADE,
    winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
    created_at REAL NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('battle', 'run'))
);
CREATE INDEX IF NOT EXISTS arena_votes_created ON arena_votes(created_at);
"""

VoteOrigin = Literal["battle", "run"]


@dataclass(frozen=True)
class VoteRecord:
    winner: Winner
    created_at: float
    source: VoteOrigin


@dataclass
class BattleRecord:
    """A stored battle; ``figures_*`` hold ttft_ms, tokens_per_s, tokens, finish_reason, backend."""

    prompt: str
    system: str | None
    params: dict[str, Any]
    model_a: str
    model_b: str
    answer_a: str
    answer_b: str
    figures_a: dict[str, Any]
    figures_b: dict[str, Any]
    id: str = field(default_factory=lambda: "battle_" + uuid.uuid4().hex[:20])
    created_at: float = field(default_factory=time.time)
    vote: VoteRecord | None = None


_SELECT = (
    "SELECT b.*, v.winner, v.created_at AS voted_at, v.source FROM arena_battles b "
    "LEFT JOIN arena_votes v ON v.battle_id = b.id"
)


def _battle(row: sqlite3.Row) -> BattleRecord:
    vote = None
    if row["winner"] is not None:
        vote = VoteRecord(row["winner"], row["voted_at"], row["source"])
    return BattleRecord(
        id=row["id"],
        created_at=row["created_at"],
        prompt=row["prompt"],
        system=row["system"],
        params=json.loads(row["params"]),
        model_a=row["model_a"],
        model_b=row["model_b"],
        answer_a=row["answer_a"],
        answer_b=row["answer_b"],
        figures_a=json.loads(row["figures_a"]),
        figures_b=json.loads(row["figures_b"]),
        vote=vote,
    )


class ArenaStore:
    """The only code that knows the arena tables."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(_DDL)

    def add_battle(self, battle: BattleRecord) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO arena_battles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    battle.id,
                    battle.created_at,
                    battle.prompt,
                    battle.system,
                    json.dumps(battle.params),
                    battle.model_a,
                    battle.model_b,
                    battle.answer_a,
                    battle.answer_b,
                    json.dumps(battle.figures_a),
                    json.dumps(battle.figures_b),
                ),
            )

    def get(self, battle_id: str) -> BattleRecord | None:
        rows = self.db.query(f"{_SELECT} WHERE b.id = ?", (battle_id,))
        return _battle(rows[0]) if rows else None

    def add_vote(self, battle_id: str, winner: Winner, source: VoteOrigin = "battle") -> bool:
        """Record the vote; False if the battle already has one (the row is unique)."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO arena_votes VALUES (?, ?, ?, ?)",
                    (battle_id, winner, time.time(), source),
                )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                return False
            raise
        return True

    def voted(self) -> list[BattleRecord]:
        """Every battle that has a vote, in the order the votes were cast."""
        rows = self.db.query(f"{_SELECT} WHERE v.winner IS NOT NULL ORDER BY v.created_at, v.rowid")
        return [_battle(r) for r in rows]
