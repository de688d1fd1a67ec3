"""Memory-read bandwidth probe and the decode ceiling it implies.

Batch-1 decoding reads every weight once per token, so ``bandwidth / bytes-per-token`` bounds
tokens/s; reporting tokens/s as a fraction of that bound makes figures comparable across
engines, quantizations and machines.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

PROBE_BYTES = 1 << 30  # 1 GiB: far above any cache, close to a 0.5B model's weights


def read_bandwidth(threads: int, repeats: int = 9) -> dict[str, float]:
    """GB/s reading a 1 GiB fp32 tensor with ``threads`` torch threads (median and best)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        data = torch.ones(PROBE_BYTES // 4, dtype=torch.float32)
        data.sum()  # fault the pages in
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            data.sum()
            rates.append(PROBE_BYTES / (time.perf_counter() - start) / 1e9)
        del data
    finally:
        torch.set_num_threads(previous)
    return {"median_gbps": statistics.median(rates), "best_gbps": max(rates), "threads": threads}


def hf_bytes_per_token(model_dir: Path) -> int:
    """Weight bytes one decode step reads: everything but the input embedding table (a decode
    step reads one row of it). Read from the safetensors headers, without loading weights."""
    from safetensors import safe_open

    total = 0
    for shard in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(shard), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 (safe_open has no __iter__)
                if name.endswith("embed_tokens.weight"):
                    continue
                sl = handle.get_slice(name)
                count = 1
                for dim in sl.get_shape():
                    count *= dim
                total += count * _dtype_bytes(sl.get_dtype())
    return total


def _dtype_bytes(name: str) -> int:
    return {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "I8": 1, "U8": 1}.get(name, 2)


def gguf_bytes_per_token(path: Path) -> int:
    """Bytes of every GGUF tensor but the token embedding table."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    return sum(int(t.n_bytes) for t in reader.tensors if t.name != "token_embd.weight")


def ceiling(bandwidth_gbps: float, bytes_per_token: int) -> float:
    """Tokens/s a batch-1 decode could reach if it only streamed its weights."""
    return bandwidth_gbps * 1e9 / bytes_per_token if bytes_per_token else 0.0


def probe(threads: int) -> dict[str, Any]:
    """Bandwidth with the suite's thread count (the limit uses it), and with 2 and 1 threads."""
    result = {"threads_used": read_bandwidth(threads)}
    result["two_threads"] = result["threads_used"] if threads == 2 else read_bandwidth(2)
    result["one_thread"] = result["threads_used"] if threads == 1 else read_bandwidth(1)
    return result
