"""Sampling on logits: greedy, seeds, top-k, top-p, repetition penalty, logprobs."""

from __future__ import annotations

import math

import torch

from app.backends.base import SamplingParams
from app.backends.transformers.sampling import make_generator, sample_next

LOGITS = torch.tensor([2.0, 1.0, 0.5, -1.0, 3.0])


def _draws(params: SamplingParams, n: int = 200, seed: int = 0) -> list[int]:
    gen = make_generator(seed)
    return [sample_next(LOGITS, params, None, gen).token_id for _ in range(n)]


def test_greedy_picks_argmax() -> None:
    params = SamplingParams(max_tokens=1, temperature=0.0)
    assert sample_next(LOGITS, params, None, make_generator(1)).token_id == 4


def test_same_seed_same_draws() -> None:
    params = SamplingParams(max_tokens=1, temperature=1.0)
    assert _draws(params, seed=5) == _draws(params, seed=5)
    assert _draws(params, seed=5) != _draws(params, seed=6)


def test_top_k_limits_choices() -> None:
    assert set(_draws(SamplingParams(max_tokens=1, temperature=2.0, top_k=2))) <= {0, 4}


def test_top_p_limits_choices() -> None:
    probs = torch.softmax(LOGITS, dim=-1)  # token 4 alone holds ~0.6 of the mass
    assert probs[4] > 0.5
    assert set(_draws(SamplingParams(max_tokens=1, temperature=1.0, top_p=0.5))) == {4}
    assert len(set(_draws(SamplingParams(max_tokens=1, temperature=1.0, top_p=0.99)))) > 2


def test_repetition_penalty_moves_greedy_choice() -> None:
    params = SamplingParams(max_tokens=1, temperature=0.0, repetition_penalty=2.0)
    seen = torch.tensor([4])
    # 3.0 / 2 = 1.5 < 2.0: the seen token loses its lead.
    assert sample_next(LOGITS, params, seen, make_generator(0)).token_id == 0


def test_logprobs_are_the_models_own() -> None:
    params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=2)
    token = sample_next(LOGITS, params, None, make_generator(0))
    expected = torch.log_softmax(LOGITS, dim=-1)
    assert math.isclose(token.logprob, float(expected[4]), rel_tol=1e-6)
    assert [t for t, _ in token.top] == [4, 0]
