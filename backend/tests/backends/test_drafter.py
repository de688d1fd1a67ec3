"""The engine-independent draft proposer: prompt lookup, predictions, adaptive length."""

from __future__ import annotations

from app.backends.speculation import Draft, Drafter
from app.backends.types import Speculation


def test_lookup_proposes_what_followed_the_latest_match() -> None:
    drafter = Drafter(Speculation(mode="ngram", max_draft=4, ngram_min=2), [1, 2, 3, 4, 9, 1, 2])
    draft = drafter.propose(8)
    assert draft.source == "ngram" and draft.tokens == [3, 4, 9, 1][: drafter.length.k]
    drafter.extend([5, 6])  # a suffix never seen before
    assert drafter.propose(8).tokens == []


def test_prediction_first_then_realigned_after_a_difference() -> None:
    spec = Speculation(mode="off", max_draft=4, ngram_min=2, prediction=(10, 11, 12, 13, 14, 15))
    drafter = Drafter(spec, [1, 2])
    drafter.extend([10])  # the first token follows the prediction
    assert drafter.propose(3) == Draft([11, 12, 13], "prediction")
    drafter.extend([11, 99])  # the answer parts from the prediction
    assert drafter.propose(3).tokens == []
    drafter.extend([13, 14])  # and comes back to it: the suffix 13 14 realigns
    assert drafter.propose(3).tokens == [15]


def test_limit_and_pause_below_break_even() -> None:
    drafter = Drafter(Speculation(mode="ngram", max_draft=6, min_acceptance=0.5), [1, 2, 1, 2])
    assert drafter.propose(0).tokens == []
    for _ in range(20):  # every draft rejected
        drafter.length.update(4, 0)
    assert drafter.length.next() == 0  # paused
