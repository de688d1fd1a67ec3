"""Speculative decoding benchmark: ``python -m scripts.bench.speculative`` from the repo root.

The bundled SmolLM2-135M-Instruct (HF copy) on the in-process Transformers engine, greedy,
speculation off vs on, interleaved round by round (median of ``--rounds``), same prompts:

``--model models/smollm2-135m-instruct-q4_1.gguf`` runs the same cases on the llama.cpp
engine (greedy prompt lookup and predictions; 4 sequences).

1. **RAG quote-and-rewrite**: a ~300-token passage, asked to quote it and then rewrite it, at
   1 and 4 concurrent streams, prompt lookup (``ngram``) vs off.
2. **Predicted Outputs code edit**: a ~200-token Python file with one identifier to rename;
   the prediction is the original file.
3. **No copying**: a free-form prompt whose answer copies nothing from it; lookup on vs off
   (the adaptive length must keep the loss within noise).
4. **k sweep** on the code edit: tokens/s for max_draft 2, 4, 8, 16.

Tokens/s is completion tokens of all streams over the wall time from submitting to the last
token (prefill included on both sides). Every "on" answer is checked token for token against
its "off" answer (greedy exactness), after one unmeasured warm-up run. The machine is shared: CPU pressure
(/proc/pressure/cpu) is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from scripts.bench import REPO_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PASSAGE = (
    "The harbour of Saltmere was built in 1842 by the engineer Thomas Reed, who designed its "
    "stone breakwater to shelter fishing boats from the autumn storms. For sixty years the "
    "harbour handled herring, coal and timber, and at its busiest more than two hundred boats "
    "were registered there. When the railway reached the town in 1901, most of the coal trade "
    "moved inland, and the harbour slowly turned to fishing alone. The great storm of 1953 "
    "broke the outer wall in three places; the town repaired it within two years, paid for by "
    "a public subscription that raised nine thousand pounds. Today the harbour is home to "
    "forty small boats, a lifeboat station and a museum in the old customs house, which keeps "
    "Reed's original drawings, the harbour master's logbooks from 1842 to 1960 and a model of "
    "the breakwater. Every August the town holds a regatta in the harbour, and the museum "
    "opens the customs house roof so that visitors can watch the boats race around the "
    "lighthouse and back to the quay."
)
RAG_QUESTION = (
    "Here is a passage from our documents:\n\n" + PASSAGE + "\n\nFirst quote the passage word "
    "for word, then rewrite it in simpler English."
)

CODE = '''import json
from pathlib import Path


def load_records(path):
    """Read the records file and return the entries that are active."""
    records = json.loads(Path(path).read_text())
    active = []
    for record in records:
        if record.get("active"):
            active.append(record)
    return active


def count_by_city(records):
    """Count active records per city."""
    counts = {}
    for record in records:
        city = record.get("city", "unknown")
        counts[city] = counts.get(city, 0) + 1
    return counts


def main(path):
    records = load_records(path)
    for city, total in sorted(count_by_city(records).items()):
        print(f"{city}: {total}")
'''
CODE_QUESTION = (
    "Rename the function `load_records` to `read_active_records` everywhere in this file. "
    "Reply with the whole file only.\n\n```python\n" + CODE + "```"
)
FREE_QUESTION = "Write a short story about a dragon who learns to bake bread."


def _pressure() -> str:
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


class Bench:
    """The engine and how to run one measured case on it."""

    def __init__(self, model: Path, threads: int) -> None:
        from app.backends.base import Backend, ModelSource
        from app.core.config import Settings

        self.engine: Backend
        if model.suffix == ".gguf":
            from app.backends.llamacpp.backend import LlamaCppBackend

            self.engine = LlamaCppBackend(
                ModelSource(model.name, model, "gguf"),
                Settings(threads=threads, llamacpp_parallel=4),
            )
        else:
            from app.backends.transformers.backend import TransformersBackend

            self.engine = TransformersBackend(
                ModelSource(model.name, model, "hf"),
                Settings(threads=threads, max_batch_size=8, prefix_cache_mb=0),
            )
        self.engine.load()

    def prompt(self, question: str) -> list[int]:
        from app.backends.types import ChatMessage

        text = self.engine.render_chat([ChatMessage("user", question)])
        return self.engine.tokenize(text, add_special_tokens=False)

    def run(self, prompt: list[int], streams: int, max_tokens: int, spec: Any) -> dict[str, Any]:
        """``streams`` copies of one request at once; tokens/s over the wall time."""
        from app.backends.types import GenerationRequest, SamplingParams

        results: list[list[Any]] = [[] for _ in range(streams)]

        def work(index: int) -> None:
            request = GenerationRequest(
                f"b{index}",
                list(prompt),
                SamplingParams(max_tokens=max_tokens, temperature=0.0),
                speculation=spec,
            )
            results[index] = list(self.engine.stream(request, threading.Event()))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(streams)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        tokens = [[t for e in events for t in e.token_ids] for events in results]
        drafted = sum(e.drafted for events in results for e in events)
        accepted = sum(e.accepted_draft for events in results for e in events)
        return {
            "tokens": tokens,
            "count": sum(len(t) for t in tokens),
            "wall_s": wall,
            "tps": sum(len(t) for t in tokens) / wall,
            "drafted": drafted,
            "accepted": accepted,
        }


def _case(bench: Bench, name: str, question: str, streams: int, max_tokens: int,
          on: Any, rounds: int) -> dict[str, Any]:
    from app.backends.types import Speculation

    prompt = bench.prompt(question)
    # A warm-up first: llama.cpp's slots then hold the prompt's cells for every measured run
    # (a cold prefill and a cached one can differ in the last bits, and in a greedy token).
    bench.run(prompt, streams, max_tokens, Speculation())
    off_runs, on_runs = [], []
    for _ in range(rounds):  # interleaved, so drift hits both sides alike
        off_runs.append(bench.run(prompt, streams, max_tokens, Speculation()))
        on_runs.append(bench.run(prompt, streams, max_tokens, on))
    exact = all(r["tokens"] == off_runs[0]["tokens"] for r in off_runs + on_runs)
    off_tps = statistics.median(r["tps"] for r in off_runs)
    on_tps = statistics.median(r["tps"] for r in on_runs)
    drafted = on_runs[-1]["drafted"]
    accepted = on_runs[-1]["accepted"]
    row = {
        "case": name, "streams": streams, "prompt_tokens": len(prompt),
        "completion_tokens": on_runs[-1]["count"], "off_tps": round(off_tps, 2),
        "on_tps": round(on_tps, 2), "ratio": round(on_tps / off_tps, 3),
        "drafted": drafted, "accepted": accepted,
        "acceptance": round(accepted / drafted, 3) if drafted else None, "exact": exact,
        "off_all": [round(r["tps"], 2) for r in off_runs],
        "on_all": [round(r["tps"], 2) for r in on_runs],
    }
    print(f"{name:<34} streams={streams} off {off_tps:6.1f} tok/s  on {on_tps:6.1f} tok/s  "
          f"ratio {row['ratio']:.2f}  accepted {accepted}/{drafted}  exact={exact}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    from app.backends.types import Speculation

    parser = argparse.ArgumentParser(prog="python -m scripts.bench.speculative",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path,
                        default=REPO_ROOT / "models" / "smollm2-135m-instruct")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-draft", type=int, default=6)
    parser.add_argument("--rag-tokens", type=int, default=256)
    parser.add_argument("--code-tokens", type=int, default=256)
    parser.add_argument("--free-tokens", type=int, default=160)
    parser.add_argument("--no-sweep", action="store_true", help="skip the k sweep")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results" / "speculative.json")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    before = _pressure()
    print(f"cpu pressure before: {before}", flush=True)
    bench = Bench(args.model.resolve(), args.threads)
    lookup = Speculation(mode="ngram", max_draft=args.max_draft)
    code_prediction = tuple(bench.engine.tokenize(CODE, add_special_tokens=False))
    predicted = Speculation(mode="off", max_draft=args.max_draft, prediction=code_prediction)
    cases = [
        ("rag quote+rewrite, lookup", RAG_QUESTION, 1, args.rag_tokens, lookup, args.rounds),
        ("rag quote+rewrite, lookup", RAG_QUESTION, 4, args.rag_tokens, lookup, args.rounds),
        ("code edit, prediction", CODE_QUESTION, 1, args.code_tokens, predicted, args.rounds),
        ("free-form, lookup (no copying)", FREE_QUESTION, 1, args.free_tokens, lookup,
         args.rounds),
    ]
    if not args.no_sweep:
        for k in (2, 4, 8, 16):
            spec = Speculation(mode="off", max_draft=k, prediction=code_prediction)
            cases.append((f"code edit, prediction, k={k}", CODE_QUESTION, 1, args.code_tokens,
                          spec, max(1, args.rounds - 1)))
    rows = [_case(bench, *case) for case in cases if not args.only or args.only in case[0]]
    after = _pressure()
    print(f"cpu pressure after: {after}", flush=True)
    bench.engine.unload()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": str(args.model), "threads": args.threads,
                                    "pressure_before": before, "pressure_after": after,
                                    "rows": rows}, indent=2))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
