"""Token sampling on logits with torch: temperature, top-k, top-p, repetition penalty, seeds.

Each request carries its own :class:`torch.Generator`, so a seeded request draws the same tokens
whatever runs beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.backends.base import SamplingParams


@dataclass
class SampledToken:
    token_id: int
    logprob: float
    top: list[tuple[int, float]]


def make_generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator(device="cpu")
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def sample_next(
    logits: torch.Tensor,
    params: SamplingParams,
    seen_ids: torch.Tensor | None,
    generator: torch.Generator,
    draft: int | None = None,
) -> SampledToken:
    """Choose the next token from one row of ``logits`` (shape ``[vocab]``).

    ``draft``: a token a deterministic draft proposed here (speculative decoding). A greedy
    request takes the argmax as always (the draft is accepted when it is that token). A sampled
    one follows the speculative-sampling rule for a one-hot draft distribution: accept the
    draft with probability p(draft), else sample from p with the draft removed and the rest
    renormalised (max(p - q, 0) normalised), so the token is distributed exactly as p.

    Log-probabilities reported are those of the model's own distribution (before temperature
    and filtering), as the OpenAI API and vLLM report them.
    """
    logits = logits.float()
    raw_logprobs = torch.log_softmax(logits, dim=-1) if params.logprobs is not None else None
    scores = logits
    if params.repetition_penalty != 1.0 and seen_ids is not None and seen_ids.numel():
        scores = scores.clone()
        picked = scores.gather(0, seen_ids)
        picked = torch.where(
            picked > 0, picked / params.repetition_penalty, picked * params.repetition_penalty
        )
        scores.scatter_(0, seen_ids, picked)
    if params.greedy:
        token_id = int(torch.argmax(scores))
    else:
        scores = scores / params.temperature
        if params.top_k > 0 and params.top_k < scores.shape[-1]:
            kth = torch.topk(scores, params.top_k).values[-1]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if params.top_p < 1.0:
            sorted_scores, order = torch.sort(scores, descending=True)
            cumulative = torch.softmax(sorted_scores, dim=-1).cumsum(dim=-1)
            # Drop tokens once the mass before them already reaches top_p (keeps at least one).
            drop_sorted = (cumulative - torch.softmax(sorted_scores, dim=-1)) >= params.top_p
            drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
            scores = scores.masked_fill(drop, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        token_id = _draw(probs, generator, draft)
    if raw_logprobs is None:
        return SampledToken(token_id, 0.0, [])
    top: list[tuple[int, float]] = []
    if params.logprobs:
        values, ids = torch.topk(raw_logprobs, params.logprobs)
        top = [(int(i), float(v)) for i, v in zip(ids, values, strict=True)]
    return SampledToken(token_id, float(raw_logprobs[token_id]), top)


def _draw(probs: torch.Tensor, generator: torch.Generator, draft: int | None) -> int:
    if draft is None:
        return int(torch.multinomial(probs, 1, generator=generator))
    if float(torch.rand((), generator=generator)) < float(probs[draft]):
        return draft
    residual = probs.clone()
    residual[draft] = 0.0  # p(draft) < 1 here, so some mass is left
    return int(torch.multinomial(residual, 1, generator=generator))
