"""How often greedy answers degenerate into a repetition loop, per engine and weight copy.

``python -m scripts.bench.loops`` asks every prompt of ``scripts/bench/data/everyday_prompts.txt``
at temperature 0 on each configuration below and counts the answers that fall into a loop (a
block of 1-32 tokens repeated back to back over 32+ tokens, e.g. ``1.1.1.1...``):

- ``ours-fp32-exact``: our Transformers engine on the bundled HF folder as setup makes it: the
  Q4_1 GGUF's weights exactly, in fp32 (what ``MP_DTYPE=auto`` runs);
- ``ours-bf16``: the same weights rounded to bf16 at load (``MP_DTYPE=bf16``; what setup shipped
  and auto ran on CPUs with native bf16 before the copy became fp32);
- ``ours-fp32``: the bf16-rounded copy computed in fp32 (what auto ran before on CPUs without
  native bf16; the copy is made once under ``bench-results/``);
- ``generate-sdpa-bf16`` / ``generate-eager-bf16``: plain ``transformers`` ``generate`` on the
  bf16-rounded copy with SDPA / eager attention (the references a user would try first);
- ``generate-sdpa-fp32-exact``: the same on the exact fp32 folder;
- ``llamacpp``: our llama.cpp engine on the GGUF itself.

It writes ``bench-results/loops-<time>.json`` with every answer (after each configuration, so
an interrupted run keeps what it finished) and prints a table. Our engines
run all prompts concurrently (their batched output equals their lone output, see
docs/performance.md); ``generate`` runs one prompt at a time. A short speed comparison of the
two Transformers copies (batch 1, interleaved) follows unless ``--no-speed``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scripts.bench import REPO_ROOT

PROMPTS_FILE = Path(__file__).parent / "data" / "everyday_prompts.txt"
CONFIGS = (
    "ours-fp32-exact",
    "ours-bf16",
    "ours-fp32",
    "generate-sdpa-bf16",
    "generate-eager-bf16",
    "generate-sdpa-fp32-exact",
    "llamacpp",
)


def repetition_loop(
    ids: list[int], *, max_period: int = 32, min_span: int = 32, min_repeats: int = 3
) -> tuple[int, int] | None:
    """``(period, start)`` of the first stretch where a block of ``period`` tokens repeats back
    to back at least ``min_repeats`` times and covers at least ``min_span`` tokens, else None.

    A run of ``r`` positions with ``ids[j] == ids[j - p]`` is the block of ``p`` tokens before
    it repeated ``r / p`` more times, so the stretch covers ``r + p`` tokens."""
    for period in range(1, max_period + 1):
        run = 0
        for j in range(period, len(ids)):
            if ids[j] == ids[j - period]:
                run += 1
                covered = run + period
                if covered >= min_span and covered // period >= min_repeats:
                    return period, j - run - period + 1
            else:
                run = 0
    return None


def load_prompts(path: Path, limit: int | None) -> list[str]:
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return lines[:limit] if limit else lines


def rounded_bf16_folder(out_root: Path) -> Path:
    """The bundled GGUF dequantized and saved in bf16, as setup made it before (made once)."""
    from app.tools import bundled_model

    target = out_root / "smollm2-135m-instruct-bf16-rounded"
    if (target / "model.safetensors").is_file():
        return target
    source = bundled_model.find_wheel_file()
    staging = out_root / ".smollm2-bf16.partial"
    shutil.rmtree(staging, ignore_errors=True)
    bundled_model._convert(source, staging, None, dtype="bfloat16")
    staging.rename(target)
    return target


def run_ours(engine: str, path: Path, dtype: str, prompts: list[str], max_tokens: int,
             threads: int) -> list[dict[str, Any]]:
    """Every prompt through our engine at once (rendered as /v1/chat/completions renders it)."""
    from app.backends.base import ChatMessage, GenerationRequest, ModelSource, SamplingParams
    from app.backends.registry import backend_class
    from app.core.config import Settings

    fmt = "gguf" if path.suffix == ".gguf" else "hf"
    settings = Settings(threads=threads, max_batch_size=16, dtype=dtype)  # type: ignore[arg-type]
    backend = backend_class(engine)(ModelSource(path.stem, path, fmt), settings)  # type: ignore[arg-type]
    backend.load()

    def one(index: int) -> dict[str, Any]:
        prompt = backend.render_chat([ChatMessage("user", prompts[index])])
        ids = backend.tokenize(prompt, add_special_tokens=False)
        request = GenerationRequest(
            f"loops-{index}", ids, SamplingParams(max_tokens=max_tokens, temperature=0.0)
        )
        out: list[int] = []
        text: list[str] = []
        for event in backend.stream(request, threading.Event()):
            out.extend(event.token_ids)
            text.append(event.text or "")
        return {"ids": out, "text": "".join(text)}

    try:
        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(one, range(len(prompts))))
    finally:
        backend.unload()


def run_generate(path: Path, dtype: str, attention: str, prompts: list[str],
                 max_tokens: int, threads: int) -> list[dict[str, Any]]:
    """Plain ``transformers`` greedy ``generate``, one prompt at a time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=getattr(torch, dtype), attn_implementation=attention
    )
    answers = []
    for prompt in prompts:
        enc = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True,
            return_tensors="pt", return_dict=True,
        )
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False)
        ids = out[0, enc["input_ids"].shape[1]:].tolist()
        answers.append({"ids": ids, "text": tokenizer.decode(ids, skip_special_tokens=True)})
    return answers


def speed(bf16: Path, fp32: Path, threads: int, rounds: int, tokens: int) -> dict[str, Any]:
    """Batch-1 decode tok/s of our engine on each copy, interleaved A/B over ``rounds``."""
    from scripts.bench.common import StreamRecord, run_streams
    from scripts.bench.engine import stream_once

    from app.backends.base import ModelSource
    from app.backends.registry import backend_class
    from app.core.config import Settings

    def load(path: Path, dtype: str):
        backend = backend_class("transformers")(
            ModelSource(path.name, path, "hf"), Settings(threads=threads, dtype=dtype)  # type: ignore[arg-type]
        )
        backend.load()
        return backend

    sides = {"bf16": load(bf16, "bf16"), "fp32-exact": load(fp32, "fp32")}
    tps: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, backend in sides.items():
            records: list[StreamRecord]
            records, wall = run_streams(1, lambda i, r, b=backend: stream_once(b, i, r, tokens))
            rec = records[0]
            gen = (rec.finished or 0) - (rec.first_text or 0)
            tps[name].append((rec.tokens - 1) / gen if gen > 0 else float("nan"))
    for backend in sides.values():
        backend.unload()
    medians = {name: statistics.median(values) for name, values in tps.items()}
    return {"tps": tps, "median_tps": medians,
            "ratio_fp32_over_bf16": medians["fp32-exact"] / medians["bf16"]}


def _pressure() -> str:
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.loops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=Path, default=PROMPTS_FILE)
    parser.add_argument("--limit", type=int, help="first N prompts only")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--speed-rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    prompts = load_prompts(args.prompts, args.limit)
    models = REPO_ROOT / "models"
    fp32 = models / "smollm2-135m-instruct"  # setup's copy: the GGUF's weights in fp32
    gguf = models / "smollm2-135m-instruct-q4_1.gguf"
    bf16 = rounded_bf16_folder(args.out)
    runners: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "ours-bf16": lambda: run_ours("transformers", fp32, "bf16", prompts, args.max_tokens,
                                      args.threads),
        "ours-fp32": lambda: run_ours("transformers", bf16, "fp32", prompts, args.max_tokens,
                                      args.threads),
        "ours-fp32-exact": lambda: run_ours("transformers", fp32, "fp32", prompts,
                                            args.max_tokens, args.threads),
        "generate-sdpa-bf16": lambda: run_generate(bf16, "bfloat16", "sdpa", prompts,
                                                   args.max_tokens, args.threads),
        "generate-eager-bf16": lambda: run_generate(bf16, "bfloat16", "eager", prompts,
                                                    args.max_tokens, args.threads),
        "generate-sdpa-fp32-exact": lambda: run_generate(fp32, "float32", "sdpa", prompts,
                                                         args.max_tokens, args.threads),
        "llamacpp": lambda: run_ours("llamacpp", gguf, "auto", prompts, args.max_tokens,
                                     args.threads),
    }
    results: dict[str, Any] = {"prompts": prompts, "max_tokens": args.max_tokens,
                               "pressure_start": _pressure(), "configs": {}}
    path = args.out / f"loops-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for name in args.configs.split(","):
        start = time.perf_counter()
        answers = runners[name]()
        loops = []
        for index, answer in enumerate(answers):
            found = repetition_loop(answer["ids"])
            answer["loop"] = list(found) if found else None
            if found:
                loops.append(index)
        results["configs"][name] = {
            "answers": answers, "loops": loops, "loop_count": len(loops),
            "hit_max_tokens": sum(len(a["ids"]) >= args.max_tokens for a in answers),
            "seconds": round(time.perf_counter() - start, 1),
        }
        print(f"{name:26s} loops {len(loops):3d}/{len(prompts)}  "
              f"({time.perf_counter() - start:.0f} s)  prompts {loops}", flush=True)
        path.write_text(json.dumps(results, indent=1))
    if not args.no_speed:
        results["speed"] = speed(bf16, fp32, args.threads, args.speed_rounds, 64)
        print(f"speed, batch 1: {results['speed']['median_tps']}  fp32/bf16 "
              f"{results['speed']['ratio_fp32_over_bf16']:.2f}x")
    results["pressure_end"] = _pressure()
    path.write_text(json.dumps(results, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
