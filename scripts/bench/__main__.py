"""``python -m scripts.bench {all,bandwidth,engine,api,peers,prefix,downloads,report}``: see
docs/performance.md.

``all`` runs everything in one process in a fixed order (bandwidth, in-process engines with the
API-overhead comparison, prefix cache and chunked prefill, downloads against curl (in a child
process), servers side by side, bandwidth again), prints the tables, writes
``bench-results/all-*.json`` and regenerates the suite's section of docs/benchmarks.md.
The other subcommands run one part and write their own JSON (the doc is left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from scripts.bench import REPO_ROOT, markdown, prefix, report, suite

PARTS = ("all", "bandwidth", "engine", "api", "peers", "prefix", "downloads", "report")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=PARTS, help="what to run")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "bench-0.5b",
                        help="HF model folder; <name>-f16.gguf / -q8_0.gguf beside it are "
                        "used for the llama.cpp rows")
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine")
    parser.add_argument("--levels", default="1,2,4,8", help="concurrent streams to test")
    parser.add_argument("--tokens", type=int, default=48, help="tokens per stream (servers)")
    parser.add_argument("--engine-tokens", type=int, default=128,
                        help="tokens per stream of the in-process Transformers sweep")
    parser.add_argument("--api-tokens", type=int, default=64, help="tokens per API-overhead run")
    parser.add_argument("--api-rounds", type=int, default=3, help="API-overhead rounds per side")
    parser.add_argument("--prefix-rounds", type=int, default=3,
                        help="rounds of the prefix-cache / chunked-prefill part")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results")
    parser.add_argument("--doc", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-vllm", action="store_true", help="skip the vLLM-CPU peer")
    parser.add_argument("--budget-min", type=float, default=13.0,
                        help="time budget of the run; parts that would pass it are skipped")
    parser.add_argument("--from-json", type=Path, help="report: results file to render")
    return parser


def _print(results: dict) -> None:
    report.print_table("In-process engines", results.get("engine", []))
    report.print_table("Servers (/v1/chat/completions, streamed)", results.get("peers", []))
    report.print_table("GGUF servers (scripts/bench/llamacpp.py)", results.get("external", []))
    if results.get("prefix"):
        prefix.print_summary(results["prefix"])
    api = results.get("api")
    if api:
        print(f"\nAPI overhead: tok/s ratio {api['tps_ratio']:.3f}, "
              f"added TTFT {api['added_ttft_ms']:+.1f} ms")
    for target in results.get("targets", []):
        met = {True: "met", False: "NOT met", None: "info"}[target["met"]]
        print(f"  [{met}] {target['target']}: {target['measured']}")
    for note in results.get("notes", []):
        print(f"  note: {note}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.part == "report":
        source = args.from_json or args.out / "all-latest.json"
        results = json.loads(source.read_text())
        report.write_doc(args.doc, markdown.render(results))
        _print(results)
        return 0
    if args.part == "downloads":
        return suite.download_bench().returncode  # needs no model; prints its own table
    if not args.model.exists():
        print(f"{args.model} is missing: run `.venv/bin/playground make-test-models --only "
              f"{args.model.name}`", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    cfg = suite.Config(
        model_dir=args.model.resolve(), threads=args.threads,
        levels=[int(x) for x in args.levels.split(",")], max_tokens=args.tokens,
        engine_tokens=args.engine_tokens,
        api_tokens=args.api_tokens, api_rounds=args.api_rounds, out_dir=args.out,
        prefix_rounds=args.prefix_rounds,
        with_vllm=not args.no_vllm, budget_s=args.budget_min * 60,
        command="python -m scripts.bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
    )
    results = suite.start(cfg)
    if args.part in ("all", "bandwidth", "engine"):
        suite.run_bandwidth(cfg, results)
    if args.part in ("all", "engine"):
        suite.run_engines(cfg, results, with_api=args.part == "all")
    if args.part == "api":
        suite.run_api(cfg, results)
    if args.part in ("all", "prefix"):
        suite.run_prefix(cfg, results)
    if args.part == "all":
        suite.run_downloads(cfg, results)
    if args.part in ("all", "peers"):
        suite.run_peers(cfg, results)
    if args.part == "all":
        suite.run_bandwidth(cfg, results, when="end")
    suite.finish(results)
    path = report.write_json(results, cfg.out_dir, args.part)
    results["json_path"] = str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT)
                               else path)
    if args.part == "all":
        report.write_doc(args.doc, markdown.render(results))
        path.write_text(json.dumps(results, indent=2, default=str))
        (cfg.out_dir / "all-latest.json").write_text(path.read_text())
    _print(results)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
