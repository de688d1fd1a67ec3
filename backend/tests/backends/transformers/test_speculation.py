"""Speculative decoding (prompt lookup, predictions) in the Transformers engine, on tiny.

Greedy output must be token for token what plain decoding gives: alone, batched beside rows
with and without drafts, after rollbacks with the prefix cache on, and while a long prompt
joins in chunks. Sampled output must keep its distribution (the speculative-sampling rule),
checked against the model's own probabilities over many seeds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from app.backends.base import GenerationRequest, ModelSource, SamplingParams, TokenEvent
from app.backends.transformers.backend import TransformersBackend
from app.backends.types import Speculation
from app.core.config import Settings

OFF = Speculation()
LOOKUP = Speculation(mode="ngram", max_draft=6, ngram_min=1)
# Prompts whose greedy continuations repeat (drafts accepted) and vary (drafts rejected).
PROMPTS = [
    "The quick brown fox jumps over the lazy dog and then the quick brown fox jumps over",
    "Once upon a time in a land far away, there lived a king who",
    "one two three four one two three four one two",
    "Hello there, how are",
]
# A long prompt (several 32-token prefix blocks and prefill chunks) and a second that shares it.
LONG = " ".join(f"item {i} costs {i * 3} coins;" for i in range(40))


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Iterator[TransformersBackend]:
    backend = TransformersBackend(
        ModelSource("tiny", tiny_model_dir, "hf"),
        Settings(threads=1, max_batch_size=8, prefill_chunk_tokens=32, prefix_cache_mb=64),
    )
    backend.load()
    yield backend
    backend.unload()


def _request(
    engine: TransformersBackend,
    prompt: str,
    spec: Speculation = OFF,
    max_tokens: int = 40,
    **params: object,
) -> GenerationRequest:
    sampling = SamplingParams(max_tokens=max_tokens, **{"temperature": 0.0, **params})  # type: ignore[arg-type]
    return GenerationRequest("r", engine.tokenize(prompt), sampling, speculation=spec)


def _tokens(events: list[TokenEvent]) -> list[int]:
    return [t for e in events for t in e.token_ids]


def _run(engine: TransformersBackend, request: GenerationRequest) -> list[TokenEvent]:
    return list(engine.stream(request, threading.Event()))


class _Stream(threading.Thread):
    def __init__(self, engine: TransformersBackend, request: GenerationRequest) -> None:
        super().__init__(daemon=True)
        self.engine, self.request = engine, request
        self.cancel = threading.Event()
        self.cancel_after: int | None = None
        self.started_tokens = threading.Event()
        self.events: list[TokenEvent] = []

    def run(self) -> None:
        for event in self.engine.stream(self.request, self.cancel):
            self.events.append(event)
            if _tokens(self.events):
                self.started_tokens.set()
            if self.cancel_after is not None and len(_tokens(self.events)) >= self.cancel_after:
                self.cancel.set()


def _together(streams: list[_Stream]) -> None:
    for stream in streams:
        stream.start()
    for stream in streams:
        stream.join(timeout=120)
        assert not stream.is_alive()


def _drafts(events: list[TokenEvent]) -> tuple[int, int]:
    return sum(e.drafted for e in events), sum(e.accepted_draft for e in events)


CASES = [(p, penalty) for p in PROMPTS for penalty in (1.0, 1.3)]


def test_lookup_greedy_is_exact_alone(engine: TransformersBackend) -> None:
    drafted = accepted = 0
    for prompt, penalty in CASES:
        plain = _run(engine, _request(engine, prompt, repetition_penalty=penalty))
        fast = _run(engine, _request(engine, prompt, LOOKUP, repetition_penalty=penalty))
        assert _tokens(fast) == _tokens(plain), (prompt, penalty)
        assert _drafts(plain) == (0, 0)
        d, a = _drafts(fast)
        drafted, accepted = drafted + d, accepted + a
    # Both paths ran: drafts kept (tokens saved) and drafts rolled back.
    assert 0 < accepted < drafted


def test_lookup_greedy_is_exact_batched(engine: TransformersBackend) -> None:
    expected = [_tokens(_run(engine, _request(engine, p, repetition_penalty=r))) for p, r in CASES]
    # Every other row speculates, so rows with and without drafts share each packed forward.
    streams = [
        _Stream(engine, _request(engine, p, LOOKUP if i % 2 == 0 else OFF, repetition_penalty=r))
        for i, (p, r) in enumerate(CASES)
    ]
    engine._scheduler.peak_batch = 0  # type: ignore[union-attr]
    _together(streams)
    assert engine._scheduler.peak_batch >= 4  # type: ignore[union-attr]
    assert [_tokens(s.events) for s in streams] == expected
    assert sum(_drafts(s.events)[1] for s in streams) > 0


def test_rollbacks_leave_the_prefix_cache_exact(engine: TransformersBackend) -> None:
    """A request that shares a speculating request's prompt prefix, run after it, gets exactly
    its plain output (reusing the blocks that request stored)."""
    follower = _request(engine, LONG + " and item 7 costs", max_tokens=24)
    before = engine._scheduler.prefix_cache.hit_tokens  # type: ignore[union-attr]
    reference = _tokens(_run(engine, _request(engine, LONG + " and item 7 costs", max_tokens=24)))
    leader = _run(engine, _request(engine, LONG + " item", LOOKUP, 48, repetition_penalty=1.3))
    d, a = _drafts(leader)
    assert d > a  # some drafts were rolled back
    assert _tokens(_run(engine, follower)) == reference
    assert engine._scheduler.prefix_cache.hit_tokens > before  # type: ignore[union-attr]
    plain_leader = _run(engine, _request(engine, LONG + " item", OFF, 48, repetition_penalty=1.3))
    assert _tokens(leader) == _tokens(plain_leader)


def test_lookup_is_exact_while_a_long_prompt_joins_in_chunks(engine: TransformersBackend) -> None:
    cases = [(PROMPTS[0], 60), (LONG, 30), (PROMPTS[2], 60)]
    expected = [_tokens(_run(engine, _request(engine, p, max_tokens=n))) for p, n in cases]
    first = _Stream(engine, _request(engine, cases[0][0], LOOKUP, max_tokens=cases[0][1]))
    first.start()
    assert first.started_tokens.wait(timeout=60)
    # Joins while the first row is decoding with drafts: prefilled 32 tokens per step.
    later = [_Stream(engine, _request(engine, p, LOOKUP, max_tokens=n)) for p, n in cases[1:]]
    _together(later)
    first.join(timeout=120)
    assert [_tokens(s.events) for s in [first, *later]] == expected


def test_cancel_mid_draft_leaves_neighbours_exact(engine: TransformersBackend) -> None:
    expected = [_tokens(_run(engine, _request(engine, p, max_tokens=60))) for p in PROMPTS[:3]]
    streams = [_Stream(engine, _request(engine, p, LOOKUP, max_tokens=60)) for p in PROMPTS[:3]]
    streams[0].cancel_after = 5  # its drafts are accepted several at a time
    _together(streams)
    cancelled = _tokens(streams[0].events)
    assert streams[0].events[-1].finish_reason == "cancelled"
    assert 5 <= len(cancelled) < len(expected[0])
    assert cancelled == expected[0][: len(cancelled)]
    assert [_tokens(s.events) for s in streams[1:]] == expected[1:]
    # The engine goes on serving exactly after the cancelled row left mid-draft.
    again = _run(engine, _request(engine, PROMPTS[0], LOOKUP, max_tokens=60))
    assert _tokens(again) == expected[0]
    assert engine.stats.active_requests == 0


# --- sampling keeps its distribution ---------------------------------------------------------

SAMPLED_PROMPT = "Once upon a time"
TEMPERATURE = 0.5
SEEDS = 400
# 0.999 quantiles of the chi-square distribution by degrees of freedom.
CHI2_999 = {3: 16.27, 4: 18.47}


def _probs(engine: TransformersBackend, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        logits = engine._model(input_ids=torch.tensor([ids])).logits[0, -1].float()
    return torch.softmax(logits / TEMPERATURE, dim=-1)


def _chi2(counts: dict[int, int], probs: torch.Tensor, top: list[int]) -> float:
    total = sum(counts.values())
    observed = [counts.get(t, 0) for t in top]
    expected = [float(probs[t]) * total for t in top]
    observed.append(total - sum(observed))
    expected.append(total - sum(expected))
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def test_sampled_tokens_keep_their_distribution(engine: TransformersBackend) -> None:
    """A prediction X, Y, Z of the likeliest tokens: after a first token X (p ~ 0.57) the
    engine drafts Y, Z. Over many seeds the second token, given X, follows p(. | X) (so Y is
    accepted with probability p(Y | X) and a rejection never picks Y), and the third, given X
    and Y, follows p(. | X, Y)."""
    prompt = engine.tokenize(SAMPLED_PROMPT)
    x = int(torch.argmax(_probs(engine, prompt)))
    second = _probs(engine, [*prompt, x])
    top2 = torch.topk(second, 4).indices.tolist()
    third = _probs(engine, [*prompt, x, top2[0]])
    top3 = torch.topk(third, 4).indices.tolist()
    spec = Speculation(mode="off", max_draft=2, prediction=(x, top2[0], top3[0]))
    params = {"temperature": TEMPERATURE, "top_p": 1.0, "top_k": 0}
    seconds: dict[int, int] = {}
    thirds: dict[int, int] = {}
    drafted = accepted = 0
    batch = 8
    for base in range(0, SEEDS, batch):
        streams = [
            _Stream(engine, _request(engine, SAMPLED_PROMPT, spec, 3, seed=s, **params))
            for s in range(base, base + batch)
        ]
        _together(streams)
        for stream in streams:
            tokens = _tokens(stream.events)
            if tokens[0] == x:
                seconds[tokens[1]] = seconds.get(tokens[1], 0) + 1
                if tokens[1] == top2[0]:
                    thirds[tokens[2]] = thirds.get(tokens[2], 0) + 1
            d, a = _drafts(stream.events)
            drafted, accepted = drafted + d, accepted + a
    assert sum(seconds.values()) > SEEDS / 3 and 0 < accepted < drafted
    assert _chi2(seconds, second, top2) < CHI2_999[4], (seconds, second[top2])
    assert _chi2(thirds, third, top3) < CHI2_999[4], (thirds, third[top3])
