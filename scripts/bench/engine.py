"""In-process runs: an app backend (Transformers, llama.cpp) driven directly through
``Backend.stream``, as the generation service drives it, at several concurrencies."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from scripts.bench.common import (
    PeakRss,
    RunResult,
    StreamRecord,
    prompt_for,
    run_streams,
)


def load_backend(engine: str, path: Path, threads: int, max_batch: int = 8):
    """Load ``path`` on the app's ``engine`` backend with the suite's thread count."""
    from app.backends.base import ModelSource
    from app.backends.registry import backend_class
    from app.core.config import Settings

    fmt = "gguf" if path.suffix == ".gguf" else "hf"
    settings = Settings(threads=threads, max_batch_size=max_batch)
    backend = backend_class(engine)(ModelSource(path.stem, path, fmt), settings)  # type: ignore[arg-type]
    backend.load()
    return backend


def stream_once(backend, index: int, record: StreamRecord, max_tokens: int) -> None:
    """One chat generation, rendered and tokenized as /v1/chat/completions does it."""
    from app.backends.base import ChatMessage, GenerationRequest, SamplingParams

    prompt = backend.render_chat([ChatMessage("user", prompt_for(index))])
    ids = backend.tokenize(prompt, add_special_tokens=False)
    request = GenerationRequest(
        f"bench-{index}", ids, SamplingParams(max_tokens=max_tokens, temperature=0.0)
    )
    for event in backend.stream(request, threading.Event()):
        now = time.perf_counter()
        if event.text:
            record.text_chunk(now)
        record.tokens += len(event.token_ids)
    record.finished = time.perf_counter()


def sweep(
    backend, label: str, engine: str, model: str, levels: list[int], max_tokens: int,
) -> list[RunResult]:
    """The backend at each concurrency level, after one short warm-up generation."""
    from scripts.bench.common import summarize

    run_streams(1, lambda i, r: stream_once(backend, i, r, 4))
    results = []
    for level in levels:
        with PeakRss([os.getpid()]) as rss:
            records, wall = run_streams(level, lambda i, r: stream_once(backend, i, r, max_tokens))
        results.append(summarize(label, engine, model, records, wall, rss.peak))
        print(f"  {label} x{level}: {results[-1].aggregate_tps:.1f} tok/s aggregate", flush=True)
    return results
