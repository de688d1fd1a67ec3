"""Prefix cache and chunked prefill of the Transformers engine, through our /v1 on real servers.

1. **Shared prefix**: a ~900-token context, then a question (cold: nothing cached), then the
   same context with another question (warm): TTFT of the second over the first, per round,
   each round with a context of its own so its cold request is really cold.
2. **A long prompt joins a running stream**: one stream decodes; after its first few tokens a
   ~900-token prompt arrives; the running stream's worst gap between two tokens and its ITL p95
   over the whole stream, and the joiner's TTFT, for each prefill chunk size (one server per
   size, all started before the first round and used in turn, so drift hits every size alike;
   chunk 0 is a one-shot prefill).
"""

from __future__ import annotations

import itertools
import json
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from scripts.bench import clients, manifest, servers
from scripts.bench.common import _pct, prompt_for

CONTEXT_TOKENS = 900
CHUNKS = (0, 64, 128, 256)  # 0: the whole prompt in one step (chunked prefill off)
DEFAULT_CHUNK = 128  # the setting's default (MP_PREFILL_CHUNK_TOKENS), measured here
_SENTENCES = [
    "The harbour master logs every ship that enters the bay before the tide turns.",
    "A small bakery on the hill sells rye bread, honey cakes and strong black coffee.",
    "The old railway bridge was painted green in spring and rusted again by autumn.",
    "Children from the village school collect shells along the northern beach.",
    "Fishermen mend their nets in the shade of the warehouse after the morning catch.",
]


def _context(tokenizer: Any, tag: str, target: int = CONTEXT_TOKENS) -> str:
    """A context of about ``target`` tokens, opening with ``tag`` (unique per use)."""
    parts = [f"Reference notes, set {tag}."]
    index = 0
    while len(tokenizer(" ".join(parts))["input_ids"]) < target:
        parts.append(f"({index}) {_SENTENCES[index % len(_SENTENCES)]}")
        index += 1
    return " ".join(parts)


def _chat(client: httpx.Client, url: str, model: str, messages: list[dict[str, str]],
          max_tokens: int, on_chunk: Any = None, stop: threading.Event | None = None,
          ) -> dict[str, Any]:
    """One streamed chat completion: its chunk times, usage and timings."""
    body = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.0,
            "stream": True, "stream_options": {"include_usage": True}}
    started = time.perf_counter()
    times: list[float] = []
    usage: dict[str, Any] = {}
    finish = None
    with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            payload = json.loads(data)
            if "error" in payload:
                raise RuntimeError(str(payload["error"])[:200])
            usage = payload.get("usage") or usage
            for choice in payload.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    times.append(time.perf_counter())
                    if on_chunk:
                        on_chunk(len(times))
                finish = choice.get("finish_reason") or finish
            if stop is not None and stop.is_set():
                break  # closing the stream cancels the request
    cached = ((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0
    return {"started": started, "times": times, "finish": finish, "cached_tokens": cached,
            "prompt_tokens": usage.get("prompt_tokens")}


def _ttft_ms(run: dict[str, Any]) -> float:
    return (run["times"][0] - run["started"]) * 1000 if run["times"] else float("nan")


def _prefix_round(client: httpx.Client, server: servers.Server, context: str) -> dict[str, Any]:
    system = {"role": "system", "content": context}
    cold = _chat(client, server.url, server.model,
                 [system, {"role": "user", "content": "Which ships does the harbour master log?"}],
                 max_tokens=4)
    warm = _chat(client, server.url, server.model,
                 [system, {"role": "user", "content": "What does the bakery sell?"}],
                 max_tokens=4)
    return {"cold_ttft_ms": _ttft_ms(cold), "warm_ttft_ms": _ttft_ms(warm),
            "prompt_tokens": warm["prompt_tokens"], "cached_tokens": warm["cached_tokens"],
            "cold_cached_tokens": cold["cached_tokens"]}


def _join_round(client: httpx.Client, server: servers.Server, context: str, index: int,
                ) -> dict[str, Any]:
    """A running stream; after its 4th token a ~900-token prompt joins; the stream is closed
    4 tokens after the joiner's first token."""
    joined = threading.Event()
    joiner: dict[str, Any] = {}
    stop = threading.Event()
    after = {"count": 0}

    def join() -> None:
        joiner.update(_chat(client, server.url, server.model,
                            [{"role": "user", "content": context}], max_tokens=1))
        after["count"] = 0
        joined.set()

    def on_chunk(count: int) -> None:
        if count == 4:
            threading.Thread(target=join, daemon=True).start()
        if joined.is_set():
            after["count"] += 1
            if after["count"] >= 4:
                stop.set()

    running = _chat(client, server.url, server.model,
                    [{"role": "user", "content": prompt_for(index)}], max_tokens=400,
                    on_chunk=on_chunk, stop=stop)
    joined.wait(300)
    times = running["times"]
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(times)]
    complete = bool(joiner.get("times")) and times and times[-1] > joiner["times"][0]
    return {"gaps_ms": gaps, "worst_gap_ms": max(gaps) if gaps else float("nan"),
            "joiner_ttft_ms": _ttft_ms(joiner) if joiner else float("nan"),
            "joiner_prompt_tokens": joiner.get("prompt_tokens"),
            "covered": bool(complete)}


def measure(model_dir: Path, threads: int, logs: Path, rounds: int = 3,
            chunks: tuple[int, ...] = CHUNKS) -> dict[str, Any]:
    """Both parts; every figure comes from servers running side by side in this call."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    pressure_start = manifest.cpu_pressure()
    with ExitStack() as stack, clients.new_client() as client:
        by_chunk: dict[int, servers.Server] = {}
        for chunk in chunks:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            server = servers.ours(model_dir, model_dir.name, threads, data,
                                  logs / f"playground-prefill-{chunk}.log",
                                  extra_env={"MP_PREFILL_CHUNK_TOKENS": str(chunk)})
            stack.enter_context(server)
            by_chunk[chunk] = server.start(timeout=300)
            _chat(client, server.url, server.model, [{"role": "user", "content": "Hi"}], 2)
        main = by_chunk[DEFAULT_CHUNK if DEFAULT_CHUNK in by_chunk else chunks[-1]]
        prefix_rounds = [_prefix_round(client, main, _context(tokenizer, f"p{r}"))
                         for r in range(rounds)]
        joins: dict[int, list[dict[str, Any]]] = {c: [] for c in chunks}
        for r in range(rounds):
            for chunk in chunks:
                context = _context(tokenizer, f"j{r}-{chunk}")
                joins[chunk].append(_join_round(client, by_chunk[chunk], context, r))
    cold = statistics.median(p["cold_ttft_ms"] for p in prefix_rounds)
    warm = statistics.median(p["warm_ttft_ms"] for p in prefix_rounds)
    join_rows = []
    for chunk, runs in joins.items():
        gaps = [g for run in runs for g in run["gaps_ms"]]
        join_rows.append({
            "chunk": chunk,
            "worst_gap_ms": max(run["worst_gap_ms"] for run in runs),
            "itl_p50_ms": _pct(gaps, 0.5),
            "itl_p95_ms": _pct(gaps, 0.95),
            "joiner_ttft_ms": statistics.median(run["joiner_ttft_ms"] for run in runs),
            "joiner_prompt_tokens": runs[0]["joiner_prompt_tokens"],
            "covered": all(run["covered"] for run in runs),
        })
    return {
        "rounds": rounds,
        "default_chunk": main.env.get("MP_PREFILL_CHUNK_TOKENS"),
        "prefix": {"cold_ttft_ms": cold, "warm_ttft_ms": warm,
                   "ratio": warm / cold if cold else float("nan"),
                   "prompt_tokens": prefix_rounds[0]["prompt_tokens"],
                   "cached_tokens": prefix_rounds[0]["cached_tokens"],
                   "runs": prefix_rounds},
        "join": join_rows,
        "join_runs": {str(c): runs for c, runs in joins.items()},
        "cpu_pressure": {"start": pressure_start, "end": manifest.cpu_pressure()},
    }


def print_summary(result: dict[str, Any]) -> None:
    p = result["prefix"]
    print(f"\nPrefix cache (/v1, {p['prompt_tokens']}-token prompt, {p['cached_tokens']} cached): "
          f"TTFT warm {p['warm_ttft_ms']:.0f} ms vs cold {p['cold_ttft_ms']:.0f} ms = "
          f"{p['ratio']:.2f}x (median of {result['rounds']} rounds)")
    print("Long prompt joining a running stream (/v1):")
    print("  chunk | worst gap ms | ITL p50 ms | ITL p95 ms | joiner TTFT ms | covered")
    for row in result["join"]:
        label = "one-shot" if row["chunk"] == 0 else str(row["chunk"])
        print(f"  {label:>8} | {row['worst_gap_ms']:12.0f} | {row['itl_p50_ms']:10.0f} | "
              f"{row['itl_p95_ms']:10.0f} | {row['joiner_ttft_ms']:14.0f} | {row['covered']}")
    for when, text in result["cpu_pressure"].items():
        print(f"  cpu pressure at {when}: {text.splitlines()[0] if text else 'n/a'}")


def markdown(result: dict[str, Any]) -> str:
    p = result["prefix"]
    lines = [
        "### Prefix cache and chunked prefill (Transformers, streamed /v1/chat/completions)",
        (f"Shared prefix: a {p['prompt_tokens']}-token chat prompt whose system message (~900 "
         f"tokens) was sent once before with another question: TTFT {p['warm_ttft_ms']:.0f} ms "
         f"vs {p['cold_ttft_ms']:.0f} ms cold (**{p['ratio']:.2f}x**; {p['cached_tokens']} "
         f"prompt tokens from the cache; median of {result['rounds']} rounds, a new context "
         "each round)."),
        ("A ~900-token prompt joins a running stream (one server per chunk size, used in turn; "
         "worst gap = the largest over all rounds, ITL over every gap of the running streams):"),
        "| prefill chunk | running stream worst gap ms | ITL p50 ms | ITL p95 ms | joiner TTFT ms |",
        "|---|---|---|---|---|",
    ]
    for row in result["join"]:
        label = "one-shot (off)" if row["chunk"] == 0 else f"{row['chunk']} tokens"
        lines.append(f"| {label} | {row['worst_gap_ms']:.0f} | {row['itl_p50_ms']:.0f} | "
                     f"{row['itl_p95_ms']:.0f} | {row['joiner_ttft_ms']:.0f} |")
    pressure = result["cpu_pressure"]
    lines.append("CPU pressure during this part: start `"
                 + (pressure["start"].splitlines()[0] if pressure["start"] else "n/a")
                 + "`, end `" + (pressure["end"].splitlines()[0] if pressure["end"] else "n/a")
                 + "`.")
    return "\n\n".join(lines[:3]) + "\n\n" + "\n".join(lines[3:-1]) + "\n\n" + lines[-1]
