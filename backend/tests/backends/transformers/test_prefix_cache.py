"""Prefix cache and chunked prefill of the Transformers backend, on the real tiny model.

A request that reuses a cached prefix, or whose prompt is prefilled in chunks, must give
exactly (tokens and logprob floats) what it gives with a one-shot prefill and no cache. The
cache keeps to its budget, a running request holds its blocks and a cancelled one lets them
go, and ``cached_tokens`` reaches the OpenAI SDK through ``/v1``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.backends.base import GenerationRequest, ModelSource, SamplingParams, TokenEvent
from app.backends.transformers.backend import TransformersBackend
from app.backends.transformers.prefix_cache import BLOCK_TOKENS, PrefixCache
from app.core.config import Settings
from tests.helpers.server import ServerProcess

# A long shared context (a system prompt, a RAG passage) and questions after it.
CONTEXT = " ".join(
    f"Note {i}: the {w} of the river runs past the old mill and the stone bridge."
    for i, w in enumerate(["water", "light", "sound", "colour", "smell", "wind"] * 3)
)
QUESTIONS = ["What runs past the mill?", "Where is the bridge?", "Tell me about the wind."]
GREEDY = {"temperature": 0.0, "repetition_penalty": 2.0, "logprobs": 3, "max_tokens": 24}


# Bit-exact batching rests on oneDNN's packed bf16 kernels and the per-shape probe
# (packing.py); where they do not run (fp32, CPUs without AVX-512) a row's last bits may
# depend on the batch size, so the bit-equality tests here need them.
NOT_PACKED = "bit-exact batching needs oneDNN's packed bf16 linears; not available on this CPU"


def _engine(tiny_model_dir: Path, **settings: object) -> TransformersBackend:
    engine = TransformersBackend(
        ModelSource("tiny", tiny_model_dir, "hf"),
        Settings(threads=1, max_batch_size=8, **{"dtype": "bf16", **settings}),  # type: ignore[arg-type]
    )
    engine.load()
    return engine


@pytest.fixture(scope="module")
def cold(tiny_model_dir: Path) -> Iterator[TransformersBackend]:
    """No prefix cache, whole prompts in one prefill step: the reference."""
    engine = _engine(tiny_model_dir, prefix_cache_mb=0, prefill_chunk_tokens=0)
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def cached(tiny_model_dir: Path) -> Iterator[TransformersBackend]:
    engine = _engine(tiny_model_dir, prefix_cache_mb=64, prefill_chunk_tokens=64)
    yield engine
    engine.unload()


def _cache(engine: TransformersBackend) -> PrefixCache:
    assert engine._scheduler is not None and engine._scheduler.prefix_cache is not None
    return engine._scheduler.prefix_cache


def _request(engine: TransformersBackend, text: str, **params: object) -> GenerationRequest:
    sampling = SamplingParams(**{**GREEDY, **params})  # type: ignore[arg-type]
    return GenerationRequest("r", engine.tokenize(text), sampling)


def _run(engine: TransformersBackend, request: GenerationRequest) -> list[TokenEvent]:
    return list(engine.stream(request, threading.Event()))


def _output(events: list[TokenEvent]) -> tuple[list[int], list[object]]:
    ids = [t for e in events for t in e.token_ids]
    logprobs = [(lp.token, lp.logprob, lp.top) for e in events for lp in e.logprobs]
    return ids, logprobs


def _cached_tokens(events: list[TokenEvent]) -> int | None:
    return next((e.cached_tokens for e in events if e.cached_tokens is not None), None)


def test_reused_prefix_gives_exactly_the_uncached_output(
    cold: TransformersBackend, cached: TransformersBackend
) -> None:
    prompts = [f"{CONTEXT}\nQuestion: {q}\nAnswer:" for q in QUESTIONS]
    shared = len(cached.tokenize(f"{CONTEXT}\nQuestion:"))
    assert shared > 4 * BLOCK_TOKENS
    for index, prompt in enumerate(prompts):
        want = _run(cold, _request(cold, prompt))
        got = _run(cached, _request(cached, prompt))
        assert _output(got) == _output(want), f"prompt {index} differs with the prefix cache"
        reused = _cached_tokens(got)
        if index == 0:
            assert reused == 0
        else:  # every whole block of the shared context came from the cache
            assert reused is not None and shared - BLOCK_TOKENS < reused <= shared
            assert reused % BLOCK_TOKENS == 0
    # The same prompt again reuses all its whole blocks but the one holding its last token.
    again = _run(cached, _request(cached, prompts[0]))
    length = len(cached.tokenize(prompts[0]))
    assert _cached_tokens(again) == (length - 1) // BLOCK_TOKENS * BLOCK_TOKENS
    assert _output(again) == _output(_run(cold, _request(cold, prompts[0])))
    assert _cache(cached).in_use() == 0


def test_a_one_token_prefill_is_exact(
    cold: TransformersBackend, cached: TransformersBackend
) -> None:
    """A prompt one token past its cached blocks prefills a single query. It must still take
    the prefill's attention, not a decode step's: the logprobs of a repeated 32k+1-token prompt
    differed from its uncached run when it did not."""
    if cold.health()["packed_linears"] == 0:
        pytest.skip(NOT_PACKED)
    ids = cached.tokenize(f"{CONTEXT}\nQuestion: {QUESTIONS[0]}\nAnswer:")
    ids = ids[: (len(ids) - 1) // BLOCK_TOKENS * BLOCK_TOKENS + 1]
    assert len(ids) % BLOCK_TOKENS == 1 and len(ids) > 2 * BLOCK_TOKENS
    request = GenerationRequest("r", ids, SamplingParams(**GREEDY))  # type: ignore[arg-type]
    want = _output(_run(cold, request))
    first = _run(cached, request)  # stores the prompt's whole blocks
    again = _run(cached, request)  # every whole block cached: one token to prefill
    assert _cached_tokens(again) == len(ids) - 1
    assert _output(first) == want
    assert _output(again) == want


def _neighbour(engine: TransformersBackend) -> tuple[threading.Thread, threading.Event]:
    """A long-running stream, so the engine prefills in chunks (alone it prefills whole)."""
    cancel, started = threading.Event(), threading.Event()
    # Plain greedy: the tiny model repeats itself and never ends early.
    request = _request(
        engine, "Once upon a time", max_tokens=5_000, logprobs=None, repetition_penalty=1.0
    )

    def run() -> None:
        for _ in engine.stream(request, cancel):
            started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(60)
    return thread, cancel


def test_chunked_prefill_gives_exactly_the_one_shot_output(
    tiny_model_dir: Path, cold: TransformersBackend
) -> None:
    if cold.health()["packed_linears"] == 0:
        pytest.skip(NOT_PACKED)
    chunked = _engine(tiny_model_dir, prefix_cache_mb=0, prefill_chunk_tokens=32)
    try:
        neighbour, stop = _neighbour(chunked)
        for question in QUESTIONS:
            prompt = f"{CONTEXT}\n{question}"
            want = _run(cold, _request(cold, prompt))
            got = _run(chunked, _request(chunked, prompt))
            assert _output(got) == _output(want)
        stop.set()
        neighbour.join(60)
    finally:
        chunked.unload()


def test_running_stream_keeps_decoding_while_a_long_prompt_prefills(
    tiny_model_dir: Path,
) -> None:
    """With 32-token chunks, each step of a ~900-token prefill also decodes the running
    stream; prefilled in one step, the stream would get one token in that time."""
    engine = _engine(tiny_model_dir, prefix_cache_mb=0, prefill_chunk_tokens=32)
    try:
        runner_events: list[tuple[float, TokenEvent]] = []
        started = threading.Event()

        def run() -> None:
            # Plain greedy: the tiny model repeats itself and never ends early.
            request = _request(
                engine, "Once upon a time", max_tokens=400, logprobs=None, repetition_penalty=1.0
            )
            for event in engine.stream(request, threading.Event()):
                runner_events.append((time.perf_counter(), event))
                if len(runner_events) == 3:
                    started.set()

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        assert started.wait(60)
        long_ids = engine.tokenize(CONTEXT * 4)[:900]
        assert len(long_ids) == 900
        submitted = time.perf_counter()
        request = GenerationRequest("long", long_ids, SamplingParams(max_tokens=1))
        first = 0.0
        for _ in engine.stream(request, threading.Event()):
            first = first or time.perf_counter()
        runner.join(120)
        during = [t for t, e in runner_events if submitted <= t <= first and e.token_ids]
        assert len(during) >= 20, f"the running stream got {len(during)} tokens meanwhile"
    finally:
        engine.unload()


def test_eviction_keeps_the_budget_and_the_newest_prompts(tiny_model_dir: Path) -> None:
    engine = _engine(tiny_model_dir, prefix_cache_mb=1, prefill_chunk_tokens=128)
    try:
        cache = _cache(engine)
        texts = [f"Story {n}. " + CONTEXT.replace("river", f"river {n}") for n in range(8)]
        for text in texts:
            _run(engine, _request(engine, text, max_tokens=2))
            assert cache.bytes <= cache.budget_bytes
        stats = cache.stats()
        assert stats.evicted > 0 and stats.in_use == 0
        # The newest prompt is still cached whole; the oldest was evicted (nothing reused).
        assert _cached_tokens(_run(engine, _request(engine, texts[-1], max_tokens=2))) > 0
        assert _cached_tokens(_run(engine, _request(engine, texts[0], max_tokens=2))) == 0
    finally:
        engine.unload()


def test_blocks_in_use_are_never_evicted(tiny_model_dir: Path) -> None:
    """The budget full of a running request's blocks: a new prompt stores nothing rather than
    evicting them; once that request ends they are evicted for the next one."""
    engine = _engine(tiny_model_dir, prefix_cache_mb=1, prefill_chunk_tokens=128)
    try:
        cache = _cache(engine)
        first_ids = engine.tokenize(CONTEXT)
        held, cancel = threading.Event(), threading.Event()
        request = GenerationRequest(
            "hold", first_ids, SamplingParams(temperature=0.0, max_tokens=10_000)
        )

        def run() -> None:
            for _ in engine.stream(request, cancel):
                held.set()

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        assert held.wait(60)
        assert cache.in_use() == len(first_ids) // BLOCK_TOKENS == cache.stats().blocks
        cache.budget_bytes = cache.bytes  # full, and every block is held
        other = "A different story. " + CONTEXT
        assert _cached_tokens(_run(engine, _request(engine, other, max_tokens=2))) == 0
        assert cache.stats().evicted == 0 and cache.stats().blocks == cache.in_use()
        cancel.set()
        runner.join(60)
        deadline = time.monotonic() + 10
        while cache.in_use() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cache.in_use() == 0
        _run(engine, _request(engine, other, max_tokens=2))
        assert cache.stats().evicted > 0 and cache.bytes <= cache.budget_bytes
        assert _cached_tokens(_run(engine, _request(engine, other, max_tokens=2))) > 0
    finally:
        engine.unload()


def test_cancelled_request_releases_its_blocks(cached: TransformersBackend) -> None:
    cache = _cache(cached)
    prompt = f"{CONTEXT}\nQuestion: a cancelled one\nAnswer:"
    cancel = threading.Event()
    produced = threading.Event()
    request = _request(cached, prompt, max_tokens=10_000, logprobs=None)
    events: list[TokenEvent] = []

    def run() -> None:
        for event in cached.stream(request, cancel):
            events.append(event)
            produced.set()

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    assert produced.wait(60)
    assert cache.in_use() >= len(request.prompt_token_ids) // BLOCK_TOKENS
    cancel.set()
    runner.join(60)
    assert events[-1].finish_reason == "cancelled"
    deadline = time.monotonic() + 10
    while cache.in_use() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.in_use() == 0
    # Released, not dropped: the next request reuses them, and they can now be evicted.
    again = _run(cached, _request(cached, prompt, max_tokens=2))
    assert (_cached_tokens(again) or 0) > 0
    assert cache.in_use() == 0
    blocks = cache.stats().blocks
    cache.budget_bytes, budget = 0, cache.budget_bytes
    try:
        assert cache._make_room(0) and cache.stats().blocks == 0 < blocks
    finally:
        cache.budget_bytes = budget


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_cached_tokens_reach_the_openai_client(
    server: ServerProcess, client: openai.OpenAI
) -> None:
    system = {"role": "system", "content": CONTEXT}
    first = client.chat.completions.create(
        model="tiny",
        messages=[system, {"role": "user", "content": QUESTIONS[0]}],
        max_tokens=4,
        temperature=0,
    )
    second = client.chat.completions.create(
        model="tiny",
        messages=[system, {"role": "user", "content": QUESTIONS[1]}],
        max_tokens=4,
        temperature=0,
    )
    assert first.usage is not None and second.usage is not None
    assert second.usage.prompt_tokens_details is not None
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached is not None and BLOCK_TOKENS * 4 <= cached < second.usage.prompt_tokens
    assert cached % BLOCK_TOKENS == 0
    assert (
        second.model_extra is not None and second.model_extra["timings"]["cached_tokens"] == cached
    )
    # Streamed, the usage chunk carries it too; and the legacy completions endpoint.
    stream = client.chat.completions.create(
        model="tiny",
        messages=[system, {"role": "user", "content": QUESTIONS[2]}],
        max_tokens=4,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = [c.usage for c in stream if c.usage is not None][-1]
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == cached
    text = f"{CONTEXT}\n{QUESTIONS[0]}"
    client.completions.create(model="tiny", prompt=text, max_tokens=2, temperature=0)
    repeat = client.completions.create(model="tiny", prompt=text, max_tokens=2, temperature=0)
    assert repeat.usage is not None and repeat.usage.prompt_tokens_details is not None
    assert (repeat.usage.prompt_tokens_details.cached_tokens or 0) >= BLOCK_TOKENS * 4
    # The native API reports it in its timings.
    native = httpx.post(
        f"{server.url}/api/v1/models/generate",
        json={"model": "tiny", "prompt": text, "max_tokens": 2, "temperature": 0},
        timeout=60,
    )
    assert native.status_code == 200, native.text
    assert native.json()["timings"]["cached_tokens"] >= BLOCK_TOKENS * 4
