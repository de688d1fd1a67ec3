"""llama.cpp benchmark: our llamacpp backend (multi-sequence scheduler) streamed through /v1 vs
llama-cpp-python's own server (``python -m llama_cpp.server``) on the same GGUF files, prompts,
threads and load, at 1/2/4/8 concurrent streams, in one run.

Run alone: ``.venv/bin/python -m scripts.bench.llamacpp`` (``--help`` for options); it writes
``bench-results/llamacpp-*.json`` and the ``## llama.cpp`` section of docs/benchmarks.md. The
suite (``python -m scripts.bench all``) calls :func:`run` and folds the rows into its report.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.bench import REPO_ROOT, bandwidth, llamacpp_peer, manifest, report, servers
from scripts.bench.common import RunResult
from scripts.bench.peers import http_sweep
from scripts.bench.targets import named_row

FILES = ("bench-0.5b-f16.gguf", "bench-0.5b-q8_0.gguf")
BEGIN, END = "<!-- llamacpp-bench:begin -->", "<!-- llamacpp-bench:end -->"


def _ours(gguf: Path, threads: int, parallel: int, data: Path, logs: Path) -> servers.Server:
    server = servers.ours(gguf, gguf.name, threads, data, logs / f"ours-{gguf.stem}.log")
    server.env.update({"MP_LLAMACPP_PARALLEL": str(parallel), "MP_LLAMACPP_N_CTX": "2048",
                       "MP_DEFAULT_BACKEND": "llamacpp"})
    return server


def _peer(gguf: Path, threads: int, log: Path) -> servers.Server | None:
    """llama-cpp-python's server on the same file, through :mod:`scripts.bench.llamacpp_peer`."""
    server = servers.llama_cpp_server(gguf, threads, log)
    if server is not None:
        at = server.argv.index("llama_cpp.server")
        server.argv[at] = "scripts.bench.llamacpp_peer"
        # By default it cuts a running stream when another request arrives; queue them instead
        # (its lock serializes requests), so every stream completes.
        server.argv += ["--interrupt_requests", "False"]
        server.env["PYTHONPATH"] = str(REPO_ROOT / "backend")
    return server


def _sweep(server: servers.Server | None, label: str, levels: list[int], max_tokens: int,
           notes: list[str]) -> list[RunResult]:
    if server is None:
        notes.append(f"{label}: not installed, skipped.")
        return []
    try:
        with server.start(300):
            return http_sweep(server, label, "llama.cpp", levels, max_tokens)
    except (RuntimeError, TimeoutError) as exc:
        notes.append(f"{label}: {exc}")
        return []


def run(config: dict[str, Any]) -> list[RunResult]:
    """Rows for ``config`` = {models_dir, threads, levels, max_tokens}: for each GGUF file,
    ours then llama-cpp-python's server (one server alive at a time)."""
    models_dir = Path(config["models_dir"])
    threads, levels = int(config["threads"]), list(config["levels"])
    max_tokens = int(config["max_tokens"])
    notes: list[str] = config.setdefault("notes", [])
    rows: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-llamacpp-") as tmp:
        logs = Path(tmp)
        for name in config.get("files", FILES):
            gguf = models_dir / name
            if not gguf.is_file():
                notes.append(f"{name} missing: run `playground make-test-models --only "
                             "bench-0.5b`.")
                continue
            ours = _ours(gguf, threads, max(levels), logs / "data", logs)
            rows += _sweep(ours, f"ours /v1 llamacpp ({gguf.stem})", levels, max_tokens, notes)
            # The same backend with room for one sequence only: batch-1 speed before batching.
            single = _ours(gguf, threads, 1, logs / "data1", logs)
            rows += _sweep(single, f"ours /v1 llamacpp 1 seq ({gguf.stem})", [1], max_tokens,
                           notes)
            peer = _peer(gguf, threads, logs / f"peer-{gguf.stem}.log")
            rows += _sweep(peer, f"llama-cpp-python server ({gguf.stem})", levels, max_tokens,
                           notes)
    return rows


def batch1_ab(gguf: Path, threads: int, parallel: int, tokens: int = 16,
              rounds: int = 6) -> dict[str, Any]:
    """Batch-1 decode speed in one process, interleaved round by round (so load changes on a
    shared machine hit every side alike): our backend with ``parallel`` sequences, with one,
    and llama-cpp-python's ``Llama.generate``. Medians of tokens/s after the first token."""
    import statistics
    import threading

    from app.backends.base import GenerationRequest, ModelSource, SamplingParams
    from app.backends.llamacpp.backend import LlamaCppBackend
    from app.core.config import Settings
    from llama_cpp import Llama

    def backend(n: int) -> LlamaCppBackend:
        settings = Settings(threads=threads, llamacpp_parallel=n, llamacpp_n_ctx=2048)
        engine = LlamaCppBackend(ModelSource(gguf.name, gguf, "gguf"), settings)
        engine.load()
        return engine

    ours_n, ours_1 = backend(parallel), backend(1)
    # Same extra-buffer choice as our backend (AMX repacking crashes on quantized files here).
    llamacpp_peer.low_level.llama_model_default_params = llamacpp_peer._params
    peer = Llama(str(gguf), n_ctx=2048, n_threads=threads, verbose=False)
    ids = ours_n.tokenize("Write a short story about a lighthouse keeper who finds a message")

    def ours(engine: LlamaCppBackend) -> float:
        request = GenerationRequest("ab", ids, SamplingParams(max_tokens=tokens, temperature=0))
        first, count = 0.0, 0
        for event in engine.stream(request, threading.Event()):
            count += len(event.token_ids)
            first = first or time.perf_counter()
        return (count - 1) / (time.perf_counter() - first)

    def theirs() -> float:
        first, count = 0.0, 0
        for _ in peer.generate(ids, temp=0, reset=True):
            count += 1
            first = first or time.perf_counter()
            if count >= tokens:
                break
        return (count - 1) / (time.perf_counter() - first)

    sides = [("ours", lambda: ours(ours_n)), ("ours_1seq", lambda: ours(ours_1)),
             ("llama_generate", theirs)]
    samples: dict[str, list[float]] = {name: [] for name, _ in sides}
    for round_no in range(rounds):
        # Rotate who goes first: on a shared machine the order itself skews a round.
        for name, measure in sides[round_no % 3:] + sides[: round_no % 3]:
            samples[name].append(measure())
    ours_n.unload()
    ours_1.unload()
    medians = {k: statistics.median(v) for k, v in samples.items()}
    return {"file": gguf.name, "parallel": parallel, "tokens": tokens, "rounds": rounds,
            "medians": medians, "samples": samples}


def figures(rows: list[dict[str, Any]], bw_gbps: float, models_dir: Path,
            files: tuple[str, ...] = FILES) -> list[dict]:
    """Per file: ours/peer ratio at 1 stream, fraction of the bandwidth limit, scaling."""
    out = []
    for name in files:
        stem = Path(name).stem
        ours1 = named_row(rows, "ours /v1 llamacpp", stem, 1)
        ours4 = named_row(rows, "ours /v1 llamacpp", stem, 4)
        peer1 = named_row(rows, "llama-cpp-python server", stem, 1)
        peer4 = named_row(rows, "llama-cpp-python server", stem, 4)
        single = named_row(rows, "ours /v1 llamacpp 1 seq", stem, 1)
        if ours1 is None:
            continue
        per_token = bandwidth.gguf_bytes_per_token(models_dir / name)
        limit = bandwidth.ceiling(bw_gbps, per_token)
        out.append({
            "file": name,
            "bytes_per_token_mb": per_token / 1e6,
            "batch1_limit_tps": limit,
            "ours_b1_tps": ours1["e2e_tps"],
            "fraction_of_limit": ours1["e2e_tps"] / limit if limit else None,
            "ours_vs_peer_b1": ours1["e2e_tps"] / peer1["e2e_tps"]
            if peer1 and peer1["e2e_tps"] else None,
            "b1_vs_single_sequence": ours1["e2e_tps"] / single["e2e_tps"]
            if single and single["e2e_tps"] else None,
            "ours_x4_over_x1": ours4["aggregate_tps"] / ours1["aggregate_tps"]
            if ours4 and ours1["aggregate_tps"] else None,
            "peer_x4_over_x1": peer4["aggregate_tps"] / peer1["aggregate_tps"]
            if peer4 and peer1 and peer1["aggregate_tps"] else None,
        })
    return out


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def render(results: dict[str, Any]) -> str:
    m = results["manifest"]
    lines = [
        "## llama.cpp",
        (f"Command: `{results['command']}` — run {m['started_utc']}, "
         f"{results['duration_s']:.0f} s, commit `{m['git_commit'][:10]}`"
         f"{' (dirty tree)' if m['git_dirty'] else ''}; {results['threads']} threads for both "
         f"servers, {results['max_tokens']} tokens per stream, greedy, our scheduler with "
         f"{results['parallel']} sequences. llama-cpp-python "
         f"{m['versions'].get('llama_cpp_python')}."),
        (f"Machine shared with other jobs (CPU pressure at start "
         f"`{m['cpu_pressure_start'].splitlines()[0]}`, at end "
         f"`{results['cpu_pressure_end'].splitlines()[0]}`); read bandwidth "
         f"{results['bandwidth_gbps']:.1f} GB/s (median). Compare ratios within this run. "
         "Speeds per stream are end-to-end (tokens / request time), which is robust to servers "
         "that send several tokens in one chunk."),
        "",
        ("| file | MB read/token | batch-1 limit tok/s | ours b1 tok/s | of limit | ours/peer b1 "
         "| b1 vs 1-sequence context | ours x4/x1 aggregate | peer x4/x1 aggregate |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in results["figures"]:
        lines.append(
            f"| {f['file']} | {f['bytes_per_token_mb']:.0f} | {f['batch1_limit_tps']:.1f} | "
            f"{f['ours_b1_tps']:.1f} | {_fmt(f['fraction_of_limit'], '.0%')} | "
            f"{_fmt(f['ours_vs_peer_b1'])} | {_fmt(f['b1_vs_single_sequence'])} | "
            f"{_fmt(f['ours_x4_over_x1'])} | "
            f"{_fmt(f['peer_x4_over_x1'])} |"
        )
    lines += ["", ("All rows (aggregate tok/s over the run's wall time; per-stream tok/s "
                   "end to end; TTFT and inter-token latency per stream):"), "",
              report.markdown_table(results["rows"])]
    for note in results.get("notes", []):
        lines.append(f"\nNote: {note}")
    return "\n".join(lines)


def write_doc(doc: Path, section: str) -> None:
    block = f"{BEGIN}\n{section.strip()}\n{END}\n"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.llamacpp",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--tokens", type=int, default=64, help="tokens per stream")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results")
    parser.add_argument("--doc", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--files", default=",".join(FILES), help="GGUF files in --models-dir")
    parser.add_argument("--ab-only", action="store_true",
                        help="only the in-process interleaved batch-1 A/B (printed, JSON)")
    args = parser.parse_args(argv)
    names = tuple(args.files.split(","))
    if args.ab_only:
        ab = [batch1_ab(args.models_dir / n, args.threads, 8) for n in names]
        path = report.write_json({"ab": ab, "cpu_pressure": manifest.cpu_pressure()},
                                 args.out, "llamacpp-ab")
        print(json.dumps([{"file": a["file"], **a["medians"]} for a in ab], indent=2))
        print(f"results: {path}")
        return 0
    levels = [int(x) for x in args.levels.split(",")]
    command = "python -m scripts.bench.llamacpp " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    started = time.time()
    files = {name: args.models_dir / name for name in names}
    info = manifest.build(args.threads, files, command)
    bw = bandwidth.read_bandwidth(args.threads)["median_gbps"]
    config: dict[str, Any] = {"models_dir": args.models_dir, "threads": args.threads,
                              "levels": levels, "max_tokens": args.tokens, "notes": [],
                              "files": names}
    rows = [r.as_dict() for r in run(config)]
    results = {
        "manifest": info, "command": command, "threads": args.threads, "levels": levels,
        "max_tokens": args.tokens, "parallel": max(levels), "bandwidth_gbps": bw,
        "rows": rows, "figures": figures(rows, bw, args.models_dir, names), "notes": config["notes"],
        "cpu_pressure_end": manifest.cpu_pressure(), "duration_s": time.time() - started,
    }
    path = report.write_json(results, args.out, "llamacpp")
    report.print_table("llama.cpp: ours vs llama-cpp-python server", rows)
    print(json.dumps(results["figures"], indent=2))
    write_doc(args.doc, render(results))
    print(f"results: {path}; section '## llama.cpp' of {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
