"""The vote record the leaderboard is computed from, and the seam other vote sources plug into.

A ``PairVote`` is one judgement between two named models. Blind arena battles produce them;
any other part of the app that collects pairwise judgements (for example thumbs on a prompt-set
run) can feed the same leaderboard by implementing ``VoteSource`` and being passed to
``ArenaService(store, extra_sources=[...])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Winner = Literal["a", "b", "tie", "both_bad"]
WINNERS: tuple[Winner, ...] = ("a", "b", "tie", "both_bad")


@dataclass(frozen=True)
class PairVote:
    """One judged pair: ``model_a`` against ``model_b``, who won, and the speed figures seen."""

    model_a: str
    model_b: str
    winner: Winner
    source: str
    ttft_ms_a: float | None = None
    ttft_ms_b: float | None = None
    tokens_per_s_a: float | None = None
    tokens_per_s_b: float | None = None


class VoteSource(Protocol):
    """Anything that can hand the leaderboard its pairwise votes (oldest first)."""

    async def pair_votes(self) -> list[PairVote]: ...
