"""Ratings from pairwise arena votes, computed the way FastChat's leaderboard computes them.

Two methods, both on FastChat's scale (base 10, scale 400, initial rating 1000):

* ``online_elo``: sequential Elo with K=4 over the votes in the order they were cast.
* ``bradley_terry``: the Bradley-Terry maximum-likelihood fit, done as FastChat does it, by an
  almost unregularised logistic regression (scikit-learn) on +/-ln(10) design rows, with a tie
  counted as one win for each side; confidence intervals come from bootstrap resampling of the
  votes (percentiles 2.5 and 97.5).

The leaderboard reports Bradley-Terry: unlike online Elo it does not depend on vote order.
As in FastChat, a model that has won (or lost) every one of its battles has an unbounded MLE;
the fit is then held only by the tiny L2 term and its rating is far from 1000 (e.g. one vote
gives about +/-1587). Ratings are meaningful once each model has both wins and losses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.linear_model import LogisticRegression

Outcome = Literal["a", "b", "tie"]

BASE = 10.0
SCALE = 400.0
INIT_RATING = 1000.0
ELO_K = 4.0


@dataclass(frozen=True)
class Vote:
    """One judged battle: ``model_a`` against ``model_b`` and which side won."""

    model_a: str
    model_b: str
    outcome: Outcome


@dataclass(frozen=True)
class Rating:
    """A model's rating with its bootstrap confidence interval (equal to the rating if none)."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    battles: int


def online_elo(votes: Sequence[Vote], k: float = ELO_K) -> dict[str, float]:
    """Sequential Elo over ``votes`` in order (FastChat's ``compute_elo``)."""
    ratings: dict[str, float] = {}
    for vote in votes:
        ra = ratings.setdefault(vote.model_a, INIT_RATING)
        rb = ratings.setdefault(vote.model_b, INIT_RATING)
        expected_a = 1.0 / (1.0 + BASE ** ((rb - ra) / SCALE))
        score_a = {"a": 1.0, "b": 0.0, "tie": 0.5}[vote.outcome]
        ratings[vote.model_a] = ra + k * (score_a - expected_a)
        ratings[vote.model_b] = rb + k * ((1.0 - score_a) - (1.0 - expected_a))
    return ratings


def _fit_bradley_terry(votes: Sequence[Vote], models: list[str]) -> np.ndarray:
    index = {m: i for i, m in enumerate(models)}
    rows: list[tuple[int, int, int]] = []
    for vote in votes:
        a, b = index[vote.model_a], index[vote.model_b]
        if vote.outcome == "tie":
            # A tie is half a win each way; FastChat encodes it as one row of each outcome.
            rows.append((a, b, 1))
            rows.append((a, b, 0))
        else:
            rows.append((a, b, 1 if vote.outcome == "a" else 0))
    x = np.zeros((len(rows), len(models)))
    y = np.zeros(len(rows))
    for r, (a, b, won) in enumerate(rows):
        x[r, a] = math.log(BASE)
        x[r, b] = -math.log(BASE)
        y[r] = won
    if len(set(y.tolist())) < 2:
        # Every row has the same label, which scikit-learn refuses. The mirrored row (-x, 1-y)
        # is the same observation written the other way round, so the likelihood is unchanged.
        x = np.vstack([x, -x[:1]])
        y = np.append(y, 1.0 - y[0])
    lr = LogisticRegression(fit_intercept=False, C=1e8, tol=1e-8, max_iter=1000)
    lr.fit(x, y)
    coef: np.ndarray = lr.coef_[0]
    return SCALE * coef + INIT_RATING


def bradley_terry(votes: Sequence[Vote], rounds: int = 100, seed: int = 0) -> list[Rating]:
    """Bradley-Terry ratings with bootstrap CIs, best first; ``rounds=0`` skips the bootstrap."""
    decisive = [v for v in votes if v.model_a != v.model_b]
    if not decisive:
        return []
    models = sorted({v.model_a for v in decisive} | {v.model_b for v in decisive})
    point = _fit_bradley_terry(decisive, models)
    low, high = point.copy(), point.copy()
    if rounds > 0:
        rng = np.random.default_rng(seed)
        samples = []
        for _ in range(rounds):
            picks = rng.integers(0, len(decisive), len(decisive))
            sample = [decisive[i] for i in picks]
            present = {v.model_a for v in sample} | {v.model_b for v in sample}
            fit = _fit_bradley_terry(sample, models)
            # A model absent from a resample has no information there; keep its point value.
            samples.append([fit[i] if m in present else point[i] for i, m in enumerate(models)])
        arr = np.array(samples)
        low = np.percentile(arr, 2.5, axis=0)
        high = np.percentile(arr, 97.5, axis=0)
    counts = {m: 0 for m in models}
    for v in decisive:
        counts[v.model_a] += 1
        counts[v.model_b] += 1
    out = [
        Rating(m, float(point[i]), float(low[i]), float(high[i]), counts[m])
        for i, m in enumerate(models)
    ]
    return sorted(out, key=lambda r: r.rating, reverse=True)
