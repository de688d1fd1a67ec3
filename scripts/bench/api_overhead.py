"""API overhead: the same backend in-process vs streamed through our /v1/chat/completions over
HTTP by a real server, measured alternately in one run so drift hits both sides alike."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from scripts.bench import clients, engine, servers
from scripts.bench.common import RunResult, run_streams, summarize


def measure(model_dir: Path, threads: int, max_tokens: int, rounds: int, logs: Path,
            backend: Any = None) -> dict[str, Any]:
    """Median tokens/s and TTFT of ``rounds`` single-stream runs on each side, and ratios."""
    own = backend or engine.load_backend("transformers", model_dir, threads)
    inproc: list[RunResult] = []
    http: list[RunResult] = []
    with tempfile.TemporaryDirectory() as data, servers.ours(
        model_dir, model_dir.name, threads, Path(data), logs / "playground-api.log"
    ) as server, clients.new_client() as client:
        server.start(timeout=300)
        run_streams(1, lambda i, r: clients.stream_chat(client, server.url, server.model, i, r, 4))
        run_streams(1, lambda i, r: engine.stream_once(own, i, r, 4))
        for _ in range(rounds):
            records, wall = run_streams(
                1, lambda i, r: engine.stream_once(own, i, r, max_tokens))
            inproc.append(summarize("in-process", "transformers", model_dir.name, records, wall,
                                    None))
            records, wall = run_streams(1, lambda i, r: clients.stream_chat(
                client, server.url, server.model, i, r, max_tokens))
            http.append(summarize("http /v1 stream", "playground", model_dir.name, records,
                                  wall, None))
    if backend is None:
        own.unload()
    # End-to-end tokens/s (request start to last token): what a client sees, and robust to
    # chunks that arrive together.
    tps_in = statistics.median(r.e2e_tps for r in inproc)
    tps_http = statistics.median(r.e2e_tps for r in http)
    ttft_in = statistics.median(r.ttft_p50_ms for r in inproc)
    ttft_http = statistics.median(r.ttft_p50_ms for r in http)
    return {
        "rounds": rounds,
        "max_tokens": max_tokens,
        "inprocess_tps": tps_in,
        "http_tps": tps_http,
        "tps_ratio": tps_http / tps_in if tps_in else 0.0,
        "inprocess_ttft_ms": ttft_in,
        "http_ttft_ms": ttft_http,
        "added_ttft_ms": ttft_http - ttft_in,
        "decode_tps": {"inprocess": statistics.median(r.per_stream_tps for r in inproc),
                       "http": statistics.median(r.per_stream_tps for r in http)},
        "itl_p50_ms": {"inprocess": statistics.median(r.itl_p50_ms for r in inproc),
                       "http": statistics.median(r.itl_p50_ms for r in http)},
        "runs": {"inprocess": [r.as_dict() for r in inproc], "http": [r.as_dict() for r in http]},
    }
