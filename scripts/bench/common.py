"""What every benchmark shares: per-stream records, the figures computed from them, a peak-RSS
sampler and a helper that runs N streams at once."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Self

import psutil

# One prompt per stream (distinct, so no engine can share work between them), ~40 tokens each.
PROMPTS = [
    ("Write a short story about a lighthouse keeper who finds a message in a bottle. "
    "Describe the weather, the sea and what the message says."),
    ("Explain how a steam engine works to a curious ten year old, step by step, with "
    "simple words and one example from everyday life."),
    ("List the planets of the solar system in order and give one surprising fact about "
    "each of them, in a friendly and lively tone."),
    ("Describe a busy market in a coastal town early in the morning: the sounds, the "
    "smells, the people and what they are selling."),
]


def prompt_for(index: int) -> str:
    base = PROMPTS[index % len(PROMPTS)]
    return base if index < len(PROMPTS) else f"({index}) {base}"


@dataclass
class StreamRecord:
    """Timestamps of one streamed generation (perf_counter seconds)."""

    started: float
    first_text: float | None = None
    chunk_times: list[float] = field(default_factory=list)
    finished: float | None = None
    tokens: int = 0
    error: str | None = None

    def text_chunk(self, now: float) -> None:
        if self.first_text is None:
            self.first_text = now
        self.chunk_times.append(now)


@dataclass
class RunResult:
    """Figures of one configuration (engine x model x concurrency)."""

    name: str
    engine: str
    model: str
    concurrency: int
    streams: int
    tokens: int
    wall_s: float
    aggregate_tps: float
    per_stream_tps: float
    e2e_tps: float  # per stream, tokens / (end - request start): robust to bunched chunks
    ttft_p50_ms: float
    ttft_max_ms: float
    itl_p50_ms: float
    itl_p95_ms: float
    peak_rss_mb: float | None
    errors: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(
    name: str, engine: str, model: str, records: list[StreamRecord], wall_s: float,
    peak_rss: int | None, **extra: Any,
) -> RunResult:
    ok = [r for r in records if r.error is None and r.first_text is not None]
    ttfts = [(r.first_text - r.started) * 1000 for r in ok]  # type: ignore[operator]
    gaps = [
        (b - a) * 1000 for r in ok for a, b in zip(r.chunk_times, r.chunk_times[1:], strict=False)
    ]
    rates = []
    for r in ok:
        end = r.finished or r.chunk_times[-1]
        if r.tokens > 1 and end > r.first_text:  # type: ignore[operator]
            rates.append((r.tokens - 1) / (end - r.first_text))  # type: ignore[operator]
    tokens = sum(r.tokens for r in ok)
    e2e = [r.tokens / (r.finished - r.started) for r in ok if r.finished and r.finished > r.started]
    return RunResult(
        name=name,
        engine=engine,
        model=model,
        concurrency=len(records),
        streams=len(ok),
        tokens=tokens,
        wall_s=wall_s,
        aggregate_tps=tokens / wall_s if wall_s > 0 else 0.0,
        per_stream_tps=statistics.mean(rates) if rates else 0.0,
        e2e_tps=statistics.mean(e2e) if e2e else 0.0,
        ttft_p50_ms=_pct(ttfts, 0.5),
        ttft_max_ms=max(ttfts) if ttfts else float("nan"),
        itl_p50_ms=_pct(gaps, 0.5),
        itl_p95_ms=_pct(gaps, 0.95),
        peak_rss_mb=None if peak_rss is None else peak_rss / 2**20,
        errors=len(records) - len(ok),
        extra=extra,
    )


class PeakRss:
    """Samples the resident memory of some processes (and their children) every 50 ms."""

    def __init__(self, pids: Iterable[int]) -> None:
        self._procs = [psutil.Process(pid) for pid in pids]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        total = 0
        for proc in self._procs:
            try:
                total += proc.memory_info().rss
                total += sum(c.memory_info().rss for c in proc.children(recursive=True))
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            self._stop.wait(0.05)

    def __enter__(self) -> Self:
        self.peak = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_streams(
    concurrency: int, one: Callable[[int, StreamRecord], None]
) -> tuple[list[StreamRecord], float]:
    """Start ``concurrency`` streams at once (one thread each); return records and wall time."""
    records = [StreamRecord(started=0.0) for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency)

    def work(index: int) -> None:
        record = records[index]
        barrier.wait()
        record.started = time.perf_counter()
        try:
            one(index, record)
        except Exception as exc:  # noqa: BLE001 (recorded and counted, the run goes on)
            record.error = f"{type(exc).__name__}: {exc}"
        record.finished = record.finished or time.perf_counter()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    start = min(r.started for r in records)
    end = max(r.finished or r.started for r in records)
    return records, end - start
