"""The leaderboard from a fixed vote list, checked by hand; extra vote sources join it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.core.db import Database
from app.services.arena.leaderboard import compute
from app.services.arena.service import ArenaService
from app.services.arena.store import ArenaStore, BattleRecord
from app.services.arena.votes import PairVote

VOTES = [
    PairVote("x", "y", "a", "battle", 100.0, 300.0, 50.0, 10.0),
    PairVote("x", "y", "a", "battle", 200.0, 400.0, 40.0, 20.0),
    PairVote("y", "x", "a", "battle", 500.0, 300.0, 30.0, 60.0),
    PairVote("x", "z", "tie", "battle", None, None, None, None),
    PairVote("z", "y", "both_bad", "run"),
    PairVote("z", "z", "a", "run"),  # a model against itself says nothing: dropped
]


def test_counts_win_rates_and_medians_by_hand() -> None:
    board = compute(VOTES, rounds=20, min_votes=1)
    rows = {s.model: s for s in board.standings}
    assert board.total_votes == 5 and board.sources == {"battle": 4, "run": 1}
    x, y, z = rows["x"], rows["y"], rows["z"]
    assert (x.votes, x.wins, x.losses, x.ties, x.both_bad) == (4, 2, 1, 1, 0)
    assert (y.votes, y.wins, y.losses, y.ties, y.both_bad) == (4, 1, 2, 0, 1)
    assert (z.votes, z.wins, z.losses, z.ties, z.both_bad) == (2, 0, 0, 1, 1)
    assert x.win_rate == pytest.approx(2 / 3) and z.win_rate is None
    # TTFT of x: 100, 200, 300 -> 200; speed 50, 40, 60 -> 50. y: 300, 400, 500 / 10, 20, 30.
    assert (x.median_ttft_ms, x.median_tokens_per_s) == (200.0, 50.0)
    assert (y.median_ttft_ms, y.median_tokens_per_s) == (400.0, 20.0)
    assert z.median_ttft_ms is None
    i = {m: k for k, m in enumerate(board.models)}
    assert board.win_rates[i["x"]][i["y"]] == pytest.approx(2 / 3)
    assert board.win_rates[i["y"]][i["x"]] == pytest.approx(1 / 3)
    assert board.win_rates[i["x"]][i["z"]] is None  # only a tie between them
    assert board.battles[i["x"]][i["y"]] == 3 and board.battles[i["z"]][i["y"]] == 1
    # Ranked by Bradley-Terry: x won more than it lost, y lost more than it won.
    assert board.models[0] == "x" and board.models[-1] == "y"
    for s in board.standings:
        assert s.rating is not None and s.ci_low is not None and s.ci_high is not None
        assert s.ci_low <= s.rating <= s.ci_high and not s.provisional
    assert x.rank == 1 and x.elo is not None and y.elo is not None and x.elo > 1000 > y.elo


def test_few_votes_withhold_the_rating_and_say_how_many_are_missing() -> None:
    # One vote: FastChat's fit would show 2587 and -587 with a -0/+0 interval.
    board = compute([PairVote("m1", "m2", "a", "battle")], rounds=20, min_votes=10)
    assert board.min_votes == 10
    for s in board.standings:
        assert s.provisional and s.votes_needed == 9 and s.votes == 1
        assert (s.rating, s.ci_low, s.ci_high, s.elo, s.rank) == (None,) * 5
    # x and y have 4 votes, z 2: with a threshold of 3, z waits (and goes last), x and y rank.
    board = compute(VOTES, rounds=20, min_votes=3)
    assert board.models == ["x", "y", "z"]
    x, y, z = board.standings
    assert not x.provisional and x.rank == 1 and x.rating is not None and x.votes_needed == 0
    assert y.rank is not None and z.provisional and z.votes_needed == 1 and z.rating is None
    # The matrix follows the row order.
    assert board.battles[2][1] == 1 and board.battles[0][1] == 3


class _Thumbs:
    async def pair_votes(self) -> list[PairVote]:
        return [PairVote("m1", "m2", "b", "run", 10.0, 20.0, 5.0, 6.0)]


def test_extra_source_joins_the_leaderboard(tmp_path: Path) -> None:
    store = ArenaStore(Database(tmp_path / "db.sqlite"))
    figures = {"ttft_ms": 112.0, "load_ms": 100.0, "tokens_per_s": 7.0, "tokens": 3}
    battle = BattleRecord("p", None, {}, "m1", "m2", "a1", "a2", figures, figures)
    store.add_battle(battle)
    assert store.add_vote(battle.id, "a") and not store.add_vote(battle.id, "b")
    service = ArenaService(store, generation=None, extra_sources=[_Thumbs()])  # type: ignore[arg-type]
    board = asyncio.run(service.leaderboard())
    assert board.sources == {"battle": 1, "run": 1}
    rows = {s.model: s for s in board.standings}
    assert rows["m1"].wins == 1 and rows["m2"].wins == 1
    # The battle's TTFT counts without its model load: 112 - 100 ms.
    assert rows["m2"].median_ttft_ms == pytest.approx((12.0 + 20.0) / 2)
