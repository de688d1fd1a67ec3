"""The parts of a run and how ``all`` strings them together into one results dict."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench import api_overhead, bandwidth, engine, manifest, peers, targets
from scripts.bench.common import RunResult


@dataclass
class Config:
    """What to run: model, thread count, load shape and where to write."""

    model_dir: Path
    threads: int
    levels: list[int]
    max_tokens: int
    api_tokens: int
    api_rounds: int
    out_dir: Path
    with_vllm: bool
    command: str
    notes: list[str] = field(default_factory=list)

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
            "max_tokens": cfg.max_tokens, "notes": cfg.notes, "started": time.time()}


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
    """HF in-process sweep (then API overhead on the same loaded model), then GGUF files on
    the app's llama.cpp backend."""
    name = cfg.model_dir.name
    hf = engine.load_backend("transformers", cfg.model_dir, cfg.threads)
    rows = _rows(engine.sweep(hf, f"transformers {hf.dtype} (batched)", "transformers", name,
                              cfg.levels, cfg.max_tokens), _limit(results, name))
    if with_api:
        print("API overhead ...", flush=True)
        results["api"] = api_overhead.measure(cfg.model_dir, cfg.threads, cfg.api_tokens,
                                              cfg.api_rounds, cfg.logs, backend=hf)
    hf.unload()
    del hf
    gc.collect()
    if not cfg.ggufs:
        cfg.notes.append(f"GGUF: no {name}-f16.gguf / -q8_0.gguf in models/; llama.cpp rows "
                         "skipped.")
    for gguf in cfg.ggufs:
        try:
            backend = engine.load_backend("llamacpp", gguf, cfg.threads)
        except Exception as exc:  # a missing engine is a note, not a failed run
            cfg.notes.append(f"llamacpp backend on {gguf.name}: skipped ({exc}).")
            continue
        rows += _rows(engine.sweep(backend, f"llamacpp backend {gguf.stem}", "llamacpp",
                                   gguf.stem, cfg.levels, cfg.max_tokens),
                      _limit(results, gguf.stem))
        backend.unload()
        del backend
        gc.collect()
    results["engine"] = rows


def run_api(cfg: Config, results: dict[str, Any]) -> None:
    results["api"] = api_overhead.measure(cfg.model_dir, cfg.threads, cfg.api_tokens,
                                          cfg.api_rounds, cfg.logs)


def run_peers(cfg: Config, results: dict[str, Any]) -> None:
    name = cfg.model_dir.name
    rows = _rows(peers.hf_peers(cfg.model_dir, cfg.threads, cfg.levels, cfg.max_tokens,
                                cfg.logs, cfg.notes, cfg.with_vllm), _limit(results, name))
    for gguf in cfg.ggufs:
        rows += _rows(peers.gguf_peers([gguf], cfg.threads, cfg.levels, cfg.max_tokens,
                                       cfg.logs, cfg.notes), _limit(results, gguf.stem))
    results["peers"] = rows
    external = peers.external_llamacpp(
        {"models_dir": cfg.model_dir.parent, "threads": cfg.threads, "levels": cfg.levels,
         "max_tokens": cfg.max_tokens}, cfg.notes)
    if external:
        results["external"] = external


def finish(results: dict[str, Any]) -> None:
    results["cpu_pressure_end"] = manifest.cpu_pressure()
    results["duration_s"] = time.time() - results.pop("started")
    results["targets"] = targets.targets(results)
