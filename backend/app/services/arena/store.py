"""Arena battles and their votes as rows of the metadata database.

A battle is written once, complete (prompt, both answers, their figures), before its id is
handed to the client; a vote is one row per battle (``UNIQUE``), so a second vote is refused by
the database itself (``ON CONFLICT DO NOTHING``) and two racing votes cannot both be counted.
Calls are blocking (milliseconds): the service runs them in a worker thread.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.engine import RowMapping

from app.core import tables
from app.core.db import Repository
from app.services.arena.votes import Winner

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


def _battle(row: RowMapping) -> BattleRecord:
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


class ArenaStore(Repository):
    """The only code that knows the arena tables."""

    def add_battle(self, battle: BattleRecord) -> None:
        self.db.insert(
            tables.arena_battles,
            {
                "id": battle.id,
                "created_at": battle.created_at,
                "prompt": battle.prompt,
                "system": battle.system,
                "params": json.dumps(battle.params),
                "model_a": battle.model_a,
                "model_b": battle.model_b,
                "answer_a": battle.answer_a,
                "answer_b": battle.answer_b,
                "figures_a": json.dumps(battle.figures_a),
                "figures_b": json.dumps(battle.figures_b),
            },
        )

    def get(self, battle_id: str) -> BattleRecord | None:
        rows = self.db.query(f"{_SELECT} WHERE b.id = :id", {"id": battle_id})
        return _battle(rows[0]) if rows else None

    def add_vote(self, battle_id: str, winner: Winner, source: VoteOrigin = "battle") -> bool:
        """Record the vote; False if the battle already has one (the row is unique)."""
        with self.db.transaction() as conn:
            return conn.insert_ignore(
                tables.arena_votes,
                {
                    "battle_id": battle_id,
                    "winner": winner,
                    "created_at": time.time(),
                    "source": source,
                },
            )

    def voted(self) -> list[BattleRecord]:
        """Every battle that has a vote, in the order the votes were cast."""
        # battle_id breaks ties of equal timestamps (there is no insertion-order column).
        rows = self.db.query(
            f"{_SELECT} WHERE v.winner IS NOT NULL ORDER BY v.created_at, v.battle_id"
        )
        return [_battle(r) for r in rows]
