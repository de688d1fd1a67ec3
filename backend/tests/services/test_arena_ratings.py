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
    ratings = {r.model: r for r in bradley_terry(votes, rounds=0, prior_ties=0)}
    assert ratings["A"].rating == pytest.approx(1000 + 200 * math.log10(3), abs=1e-2)
    assert ratings["B"].rating == pytest.approx(1000 - 200 * math.log10(3), abs=1e-2)
    assert ratings["A"].battles == 4


def test_bradley_terry_counts_a_tie_as_a_win_each_way() -> None:
    # A: 2 wins, B: 1 win, 1 tie -> 3 rows to A and 2 to B, ratio 3/2.
    votes = [Vote("A", "B", "a")] * 2 + [Vote("A", "B", "b"), Vote("A", "B", "tie")]
    ranked = bradley_terry(votes, rounds=0, prior_ties=0)
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


def test_one_vote_stays_near_1000_with_a_wide_interval() -> None:
    # FastChat's fit diverges under separation: one win gives 1000 +/- 1587 (2587 and -587),
    # and every bootstrap resample is the same vote, so the interval was "-0/+0".
    unregularised = {r.model: r for r in bradley_terry([Vote("A", "B", "a")], prior_ties=0)}
    assert unregularised["A"].rating > 2000 and unregularised["B"].rating < 0
    ranked = bradley_terry([Vote("A", "B", "a")], rounds=20)
    a, b = ranked
    # With one virtual tie each against a 1000 reference, d = (rA - 1000) ln10 / 400 solves
    # sigmoid(-2d) = tanh(d/2) (the score equation of one win and two ties): d = 0.5248.
    assert a.model == "A" and a.rating == pytest.approx(1000 + 400 * 0.5248 / math.log(10), abs=1)
    assert b.rating == pytest.approx(2000 - a.rating, abs=1e-3)
    for r in ranked:
        assert r.ci_high - r.rating > 150 and r.rating - r.ci_low > 150


def test_prior_fades_as_votes_accumulate() -> None:
    # 30 wins to 10: the MLE difference is 400 log10(3) = 190.8; the prior shrinks it a little.
    votes = [Vote("A", "B", "a")] * 30 + [Vote("A", "B", "b")] * 10
    a, b = bradley_terry(votes, rounds=0)
    assert 170 < a.rating - b.rating < 400 * math.log10(3)
    assert a.rating + b.rating == pytest.approx(2000, abs=1e-3)
