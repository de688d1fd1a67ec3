"""Ratings from pairwise arena votes, computed the way FastChat's leaderboard computes them.

Two methods, both on FastChat's scale (base 10, scale 400, initial rating 1000):

* ``online_elo``: sequential Elo with K=4 over the votes in the order they were cast.
* ``bradley_terry``: the Bradley-Terry maximum-likelihood fit, done as FastChat does it, by an
  almost unregularised logistic regression (scikit-learn) on +/-ln(10) design rows, with a tie
  counted as one win for each side; confidence intervals come from bootstrap resampling of the
  votes (percentiles 2.5 and 97.5).

The leaderboard reports Bradley-Terry: unlike online Elo it does not depend on vote order.

Regularisation: a model that has won (or lost) every one of its battles has no finite MLE
(separation); FastChat's fit is then held only by its tiny L2 term and lands far from 1000
(one vote gives 2587 and -587). So each model also plays ``prior_ties`` virtual ties against a
reference fixed at 1000: a weak prior that keeps every rating finite and near 1000 until real
votes outweigh it, and that vanishes as votes accumulate. ``prior_ties=0`` is FastChat's fit.

Intervals: under separation every bootstrap resample is the same (all wins), so the percentile
interval collapses to the point ("-0/+0"). The reported interval is therefore the union of the
bootstrap percentiles and the Laplace interval (the regularised fit's curvature: +/-1.96
standard errors), which stays wide while the votes are few.
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
PRIOR_TIES = 1.0  # virtual ties of each model against a 1000-rated reference (the prior)
Z95 = 1.959964


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


def _design(
    votes: Sequence[Vote], models: list[str], prior_ties: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logistic-regression rows (x, won, weight): one per vote, two per tie, two per prior."""
    index = {m: i for i, m in enumerate(models)}
    rows: list[tuple[int, int, int, float]] = []  # (a, b or -1 for the reference, won, weight)
    for vote in votes:
        a, b = index[vote.model_a], index[vote.model_b]
        if vote.outcome == "tie":
            # A tie is half a win each way; FastChat encodes it as one row of each outcome.
            rows.append((a, b, 1, 1.0))
            rows.append((a, b, 0, 1.0))
        else:
            rows.append((a, b, 1 if vote.outcome == "a" else 0, 1.0))
    if prior_ties > 0:
        for i in range(len(models)):
            rows.append((i, -1, 1, prior_ties))
            rows.append((i, -1, 0, prior_ties))
    x = np.zeros((len(rows), len(models)))
    y = np.zeros(len(rows))
    w = np.zeros(len(rows))
    for r, (a, b, won, weight) in enumerate(rows):
        x[r, a] = math.log(BASE)
        if b >= 0:
            x[r, b] = -math.log(BASE)
        y[r] = won
        w[r] = weight
    return x, y, w


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The logistic-regression coefficients (ratings in units of 400 / ln 10 around 0)."""
    if len(set(y.tolist())) < 2:
        # Every row has the same label, which scikit-learn refuses. The mirrored row (-x, 1-y)
        # is the same observation written the other way round, so the likelihood is unchanged.
        x = np.vstack([x, -x[:1]])
        y = np.append(y, 1.0 - y[0])
        w = np.append(w, w[0])
    lr = LogisticRegression(fit_intercept=False, C=1e8, tol=1e-8, max_iter=1000)
    lr.fit(x, y, sample_weight=w)
    coef: np.ndarray = lr.coef_[0]
    return coef


def _laplace_halfwidth(x: np.ndarray, w: np.ndarray, coef: np.ndarray) -> np.ndarray | None:
    """1.96 standard errors of each rating from the fit's curvature (None if it is singular)."""
    p = 1.0 / (1.0 + np.exp(-(x @ coef)))
    hessian = (x * (w * p * (1.0 - p))[:, None]).T @ x
    try:
        cov = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return None
    variance = np.clip(np.diag(cov), 0.0, None)
    halfwidth: np.ndarray = Z95 * SCALE * np.sqrt(variance)
    return halfwidth


def _fit_bradley_terry(
    votes: Sequence[Vote], models: list[str], prior_ties: float = PRIOR_TIES
) -> np.ndarray:
    x, y, w = _design(votes, models, prior_ties)
    return SCALE * _fit(x, y, w) + INIT_RATING


def bradley_terry(
    votes: Sequence[Vote], rounds: int = 100, seed: int = 0, prior_ties: float = PRIOR_TIES
) -> list[Rating]:
    """Bradley-Terry ratings with 95% intervals, best first.

    ``rounds=0`` skips the bootstrap; ``prior_ties`` is the weight of each model's virtual tie
    against a 1000-rated reference (0: FastChat's almost unregularised fit, no Laplace term).
    """
    decisive = [v for v in votes if v.model_a != v.model_b]
    if not decisive:
        return []
    models = sorted({v.model_a for v in decisive} | {v.model_b for v in decisive})
    x, y, w = _design(decisive, models, prior_ties)
    coef = _fit(x, y, w)
    point = SCALE * coef + INIT_RATING
    low, high = point.copy(), point.copy()
    if rounds > 0:
        rng = np.random.default_rng(seed)
        samples = []
        for _ in range(rounds):
            picks = rng.integers(0, len(decisive), len(decisive))
            sample = [decisive[i] for i in picks]
            present = {v.model_a for v in sample} | {v.model_b for v in sample}
            fit = _fit_bradley_terry(sample, models, prior_ties)
            # A model absent from a resample has no information there; keep its point value.
            samples.append([fit[i] if m in present else point[i] for i, m in enumerate(models)])
        arr = np.array(samples)
        low = np.minimum(low, np.percentile(arr, 2.5, axis=0))
        high = np.maximum(high, np.percentile(arr, 97.5, axis=0))
    if prior_ties > 0:
        # With the prior the fit is identified, so its curvature is finite; without it (FastChat's
        # fit) the ratings are only defined up to a shift and the curvature says nothing.
        halfwidth = _laplace_halfwidth(x, w, coef)
        if halfwidth is not None:
            low = np.minimum(low, point - halfwidth)
            high = np.maximum(high, point + halfwidth)
    counts = {m: 0 for m in models}
    for v in decisive:
        counts[v.model_a] += 1
        counts[v.model_b] += 1
    out = [
        Rating(m, float(point[i]), float(low[i]), float(high[i]), counts[m])
        for i, m in enumerate(models)
    ]
    return sorted(out, key=lambda r: r.rating, reverse=True)
