"""The leaderboard computed from pairwise votes: ratings, win rates, votes and speed per model.

Ranking is by Bradley-Terry rating (FastChat's leaderboard method: it does not depend on the
order of the votes); online Elo (K=4) is shown beside it. A "both bad" vote counts as a tie, as
FastChat counts its "tie (bothbad)". The rank is FastChat's: 1 + the number of models whose
95% interval lies entirely above this model's, so models with overlapping intervals share a rank.

A model with fewer than ``min_votes`` votes is provisional: its rating, interval, Elo and rank are
withheld (None) and it says how many more votes it needs, listed after the rated models (most
votes first). Its votes still enter everyone's fit, so the rated models' figures do not jump when
it crosses the threshold. FastChat likewise shows no rating below a vote threshold.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.services.arena.ratings import Outcome, Vote, bradley_terry, online_elo
from app.services.arena.votes import PairVote

BOOTSTRAP_ROUNDS = 100
MIN_VOTES = 10  # the default of MP_ARENA_MIN_VOTES


@dataclass
class ModelStanding:
    """One model's row; rating, interval, Elo and rank are None while it is provisional."""

    model: str
    rank: int | None = None
    rating: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    elo: float | None = None
    provisional: bool = True
    votes_needed: int = 0  # more votes before the rating is shown
    votes: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0
    win_rate: float | None = None  # wins / (wins + losses)
    median_ttft_ms: float | None = None
    median_tokens_per_s: float | None = None


@dataclass
class Leaderboard:
    standings: list[ModelStanding]
    # win_rates[i][j]: share of the decisive votes between models[i] and models[j] won by i.
    models: list[str]
    win_rates: list[list[float | None]]
    battles: list[list[int]]  # votes between models[i] and models[j], ties included
    total_votes: int
    sources: dict[str, int] = field(default_factory=dict)
    min_votes: int = MIN_VOTES


def _outcome(vote: PairVote) -> Outcome:
    return "tie" if vote.winner in ("tie", "both_bad") else vote.winner  # type: ignore[return-value]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def compute(
    votes: Sequence[PairVote], rounds: int = BOOTSTRAP_ROUNDS, min_votes: int = MIN_VOTES
) -> Leaderboard:
    """The leaderboard of ``votes`` (oldest first; the order matters to Elo only)."""
    pairs = [v for v in votes if v.model_a != v.model_b]
    rating_votes = [Vote(v.model_a, v.model_b, _outcome(v)) for v in pairs]
    elo = online_elo(rating_votes)
    bt = bradley_terry(rating_votes, rounds=rounds)
    standings = {r.model: ModelStanding(r.model) for r in bt}
    ttft: dict[str, list[float]] = {m: [] for m in standings}
    speed: dict[str, list[float]] = {m: [] for m in standings}
    fits = {r.model: r for r in bt}
    models = [r.model for r in bt]
    index = {m: i for i, m in enumerate(models)}
    wins = [[0] * len(models) for _ in models]
    battles = [[0] * len(models) for _ in models]
    sources: dict[str, int] = {}
    for v in pairs:
        sources[v.source] = sources.get(v.source, 0) + 1
        a, b = standings[v.model_a], standings[v.model_b]
        a.votes += 1
        b.votes += 1
        ia, ib = index[v.model_a], index[v.model_b]
        battles[ia][ib] += 1
        battles[ib][ia] += 1
        if v.winner == "a":
            a.wins, b.losses = a.wins + 1, b.losses + 1
            wins[ia][ib] += 1
        elif v.winner == "b":
            b.wins, a.losses = b.wins + 1, a.losses + 1
            wins[ib][ia] += 1
        elif v.winner == "tie":
            a.ties, b.ties = a.ties + 1, b.ties + 1
        else:
            a.both_bad, b.both_bad = a.both_bad + 1, b.both_bad + 1
        for model, first, rate in (
            (v.model_a, v.ttft_ms_a, v.tokens_per_s_a),
            (v.model_b, v.ttft_ms_b, v.tokens_per_s_b),
        ):
            if first is not None:
                ttft[model].append(first)
            if rate is not None:
                speed[model].append(rate)
    rates: list[list[float | None]] = []
    for i in range(len(models)):
        row: list[float | None] = []
        for j in range(len(models)):
            decisive = wins[i][j] + wins[j][i]
            row.append(wins[i][j] / decisive if i != j and decisive else None)
        rates.append(row)
    # bradley_terry returns best first; provisional models go last, most votes first.
    rated = [standings[m] for m in models if standings[m].votes >= min_votes]
    waiting = sorted(
        (standings[m] for m in models if standings[m].votes < min_votes), key=lambda s: -s.votes
    )
    for s in rated:
        fit = fits[s.model]
        s.rating, s.ci_low, s.ci_high = fit.rating, fit.ci_low, fit.ci_high
        s.elo, s.provisional = elo[s.model], False
    for s in rated:
        s.rank = 1 + sum(1 for o in rated if fits[o.model].ci_low > fits[s.model].ci_high)
    for s in waiting:
        s.votes_needed = min_votes - s.votes
    ordered = rated + waiting
    models = [s.model for s in ordered]
    order = [index[m] for m in models]
    rates = [[rates[i][j] for j in order] for i in order]
    battles = [[battles[i][j] for j in order] for i in order]
    for s in ordered:
        decided = s.wins + s.losses
        s.win_rate = s.wins / decided if decided else None
        s.median_ttft_ms = _median(ttft[s.model])
        s.median_tokens_per_s = _median(speed[s.model])
    return Leaderboard(ordered, models, rates, battles, len(pairs), sources, min_votes)
