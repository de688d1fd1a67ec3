"""Dynamic batching in the Transformers backend, on the real tiny model.

Requests decoded together must give exactly what each gives alone (greedy and seeded), a
request joining a running batch must get its own correct output, and cancelling one request
must not disturb its neighbours.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backends.base import GenerationRequest, ModelSource, SamplingParams, TokenEvent
from app.backends.transformers.backend import TransformersBackend
from app.core.config import Settings

# Prompts of different lengths, so the batch cache needs left padding.
PROMPTS = [
    "Hello there, how are",
    "The quick brown fox jumps over the lazy dog and then",
    "One",
    "Once upon a time in a land far away, there lived a king who",
]
MAX_TOKENS = 48
# The tiny model repeats one token under plain greedy decoding; a strong repetition penalty
# (still deterministic) makes outputs varied, so a wrong row or position would show.
GREEDY = {"temperature": 0.0, "repetition_penalty": 2.0}


# Bit-exact batching rests on oneDNN's packed bf16 kernels and the per-shape probe
# (packing.py); where they do not run (fp32, CPUs without AVX-512) a row's last bits may
# depend on the batch size, so the bit-equality tests here need them.
NOT_PACKED = "bit-exact batching needs oneDNN's packed bf16 linears; not available on this CPU"


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> Iterator[TransformersBackend]:
    engine = TransformersBackend(
        ModelSource("tiny", tiny_model_dir, "hf"),
        Settings(threads=1, max_batch_size=8, dtype="bf16"),
    )
    engine.load()
    yield engine
    engine.unload()


def _request(engine: TransformersBackend, index: int, **params: object) -> GenerationRequest:
    sampling = SamplingParams(
        **{"max_tokens": MAX_TOKENS, **GREEDY, **params}  # type: ignore[arg-type]
    )
    prompt = PROMPTS[index % len(PROMPTS)]
    return GenerationRequest(f"r{index}", engine.tokenize(prompt), sampling)


def _tokens(events: list[TokenEvent]) -> list[int]:
    return [t for e in events for t in e.token_ids]


class _Stream(threading.Thread):
    """Consumes one request's stream in its own thread, like the generation service does."""

    def __init__(
        self,
        engine: TransformersBackend,
        request: GenerationRequest,
        *,
        cancel_after: int | None = None,
        signal_after: int | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.engine, self.request = engine, request
        self.cancel = threading.Event()
        self.cancel_after, self.signal_after = cancel_after, signal_after
        self.progressed = threading.Event()
        self.events: list[TokenEvent] = []

    def run(self) -> None:
        for event in self.engine.stream(self.request, self.cancel):
            self.events.append(event)
            produced = len(_tokens(self.events))
            if self.signal_after is not None and produced >= self.signal_after:
                self.progressed.set()
            if self.cancel_after is not None and produced >= self.cancel_after:
                self.cancel.set()

    @property
    def tokens(self) -> list[int]:
        return _tokens(self.events)


def _alone(engine: TransformersBackend, request: GenerationRequest) -> list[int]:
    return _tokens(list(engine.stream(request, threading.Event())))


def _run_together(streams: list[_Stream]) -> None:
    for stream in streams:
        stream.start()
    for stream in streams:
        stream.join(timeout=120)
        assert not stream.is_alive()


def test_batched_greedy_equals_one_at_a_time(backend: TransformersBackend) -> None:
    alone = [_alone(backend, _request(backend, i)) for i in range(4)]
    assert all(len(tokens) >= 8 for tokens in alone)
    assert len({tuple(t) for t in alone}) == 4  # distinct outputs: a row mix-up would show
    backend._scheduler.peak_batch = 0  # type: ignore[union-attr]
    streams = [_Stream(backend, _request(backend, i)) for i in range(4)]
    _run_together(streams)
    assert backend._scheduler.peak_batch >= 2  # type: ignore[union-attr]
    assert [s.tokens for s in streams] == alone
    assert backend.stats.active_requests == 0


def _logprobs(events: list[TokenEvent]) -> list[float]:
    return [lp.logprob for e in events for lp in e.logprobs]


def test_batched_logprobs_are_bit_identical(backend: TransformersBackend) -> None:
    """Not just the same argmax: the same floats (bf16 padding/GQA paths must not leak in)."""
    if backend.health()["packed_linears"] == 0:
        pytest.skip(NOT_PACKED)
    alone = [
        list(backend.stream(_request(backend, i, logprobs=2), threading.Event())) for i in range(4)
    ]
    streams = [_Stream(backend, _request(backend, i, logprobs=2)) for i in range(4)]
    _run_together(streams)
    for single, batched in zip(alone, streams, strict=True):
        assert _tokens(batched.events) == _tokens(single)
        assert _logprobs(batched.events) == _logprobs(single)  # exact float equality


def test_seeded_sampling_is_independent_of_neighbours(backend: TransformersBackend) -> None:
    params = {"temperature": 0.9, "top_p": 0.95, "seed": 1234}
    alone = [_alone(backend, _request(backend, i, **params)) for i in range(3)]
    streams = [_Stream(backend, _request(backend, i, **params)) for i in range(3)]
    _run_together(streams)
    assert [s.tokens for s in streams] == alone


def test_joining_mid_batch_gets_its_own_output(backend: TransformersBackend) -> None:
    expected = [_alone(backend, _request(backend, i)) for i in range(4)]
    first = [_Stream(backend, _request(backend, i), signal_after=6) for i in range(3)]
    for stream in first:
        stream.start()
    assert first[0].progressed.wait(timeout=60)
    late = _Stream(backend, _request(backend, 3))
    late.start()
    for stream in [*first, late]:
        stream.join(timeout=120)
    # The late request joined while the others were mid-way (they had produced tokens already).
    assert late.tokens == expected[3]
    assert [s.tokens for s in first] == expected[:3]


def test_cancelling_one_leaves_the_others_correct(backend: TransformersBackend) -> None:
    expected = [_alone(backend, _request(backend, i)) for i in range(4)]
    streams = [
        _Stream(backend, _request(backend, i), cancel_after=5 if i == 1 else None) for i in range(4)
    ]
    _run_together(streams)
    cancelled = streams[1]
    assert cancelled.events[-1].finish_reason == "cancelled"
    assert 5 <= len(cancelled.tokens) < len(expected[1])
    assert cancelled.tokens == expected[1][: len(cancelled.tokens)]
    for index in (0, 2, 3):
        assert streams[index].tokens == expected[index]
        assert streams[index].events[-1].finish_reason in {"stop", "length"}


def test_abandoned_stream_leaves_the_batch(backend: TransformersBackend) -> None:
    expected = _alone(backend, _request(backend, 0))
    other = _Stream(backend, _request(backend, 0))
    events = backend.stream(_request(backend, 2), threading.Event())
    next(events)  # joined the batch and produced a token
    other.start()
    events.close()  # the consumer walks away without setting cancel
    other.join(timeout=120)
    assert other.tokens == expected
    assert backend.stats.active_requests == 0


def test_one_request_matches_transformers_generate(backend: TransformersBackend) -> None:
    """The scheduler's own loop (cache, positions, penalty) gives what ``generate`` gives."""
    import torch

    request = _request(backend, 3)
    ours = _alone(backend, request)
    model = backend._model
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([request.prompt_token_ids]),
            attention_mask=torch.ones((1, len(request.prompt_token_ids)), dtype=torch.long),
            do_sample=False,
            repetition_penalty=GREEDY["repetition_penalty"],
            max_new_tokens=MAX_TOKENS,
            eos_token_id=sorted(backend._eos_ids),
            pad_token_id=sorted(backend._eos_ids)[0],
        )
    reference = out[0, len(request.prompt_token_ids) :].tolist()
    assert ours == reference
