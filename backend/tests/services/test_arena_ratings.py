"""Arena ratings against hand computations (FastChat's formulas, worked out on paper)."""

import math

import pytest

from app.services.arena.ratings import Vote, bradley_terry, online_elo


def test_online_elo_matches_hand_computation() -> None:
    votes = [Vote("A", "B", "a"), Vote("A", "B", "a"), Vote("B", "A", "tie")]
    # Vote 1: equal ratings, E=0.5, A += 4*0.5 -> 1002, B -> 998.
    # Vote 2: E_A = 1/(1+10^(-4/400)) = 0.5057562; A += 4*(1-E_A), B -= the same.
    e2 = 1 / (1 + 10 ** (-4 / 400))
    a2, b2 = 1002 + 4 * (1 - e2), 998 - 4 * (1 - e2)
    assert a2 == pytest.approx(1003.976975, abs=1e-6)
    # Vote 3: B (side a) ties A: B += 4*(0.5 - E_B), A -= the same.
    e3 = 1 / (1 + 10 ** ((a2 - b2) / 400))
    expected = {"A": a2 - 4 * (0.5 - e3), "B": b2 + 4 * (0.5 - e3)}
    assert expected["A"] == pytest.approx(1003.931197, abs=1e-6)
    got = online_elo(votes)
    assert got == pytest.approx(expected, abs=1e-9)


def test_bradley_terry_two_models_is_the_closed_form_mle() -> None:
    # A wins 3 of 4: the MLE has 10^((rA-rB)/400) = 3/1 and, with FastChat's min-norm
    # (almost unregularised, no intercept) fit, ratings symmetric around 1000.
    votes = [Vote("A", "B", "a")] * 2 + [Vote("B", "A", "b"), Vote("B", "A", "a")]
    ratings = {r.model: r for r in bradley_terry(votes, rounds=0)}
    assert ratings["A"].rating == pytest.approx(1000 + 200 * math.log10(3), abs=1e-2)
    assert ratings["B"].rating == pytest.approx(1000 - 200 * math.log10(3), abs=1e-2)
    assert ratings["A"].battles == 4


def test_bradley_terry_counts_a_tie_as_a_win_each_way() -> None:
    # A: 2 wins, B: 1 win, 1 tie -> 3 rows to A and 2 to B, ratio 3/2.
    votes = [Vote("A", "B", "a")] * 2 + [Vote("A", "B", "b"), Vote("A", "B", "tie")]
    ranked = bradley_terry(votes, rounds=0)
    assert [r.model for r in ranked] == ["A", "B"]
    assert ranked[0].rating == pytest.approx(1000 + 200 * math.log10(1.5), abs=1e-2)


def test_bootstrap_interval_brackets_the_point_and_is_reproducible() -> None:
    votes = (
        [Vote("A", "B", "a")] * 6
        + [Vote("A", "B", "b")] * 3
        + [Vote("B", "C", "a")] * 5
        + [Vote("C", "B", "a")] * 2
        + [Vote("A", "C", "tie")] * 2
    )
    first = bradley_terry(votes, rounds=50, seed=7)
    assert [r.model for r in first] == ["A", "B", "C"]
    for r in first:
        assert r.ci_low <= r.rating <= r.ci_high
        assert r.ci_low < r.ci_high
    assert bradley_terry(votes, rounds=50, seed=7) == first
    assert bradley_terry([]) == []
