"""The issue's targets, each as a measured ratio and whether it was met."""

from __future__ import annotations

from typing import Any


def _find(rows: list[dict[str, Any]], engine: str, streams: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["engine"] == engine and r["concurrency"] == streams), None)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rows = results.get("engine", [])
    one, four = _find(rows, "transformers", 1), _find(rows, "transformers", 4)
    if one and four and one["aggregate_tps"]:
        ratio = four["aggregate_tps"] / one["aggregate_tps"]
        out.append({"target": "HF bf16: 4 streams aggregate >= 3.5x one stream",
                    "measured": f"{ratio:.2f}x ({four['aggregate_tps']:.1f} vs "
                                f"{one['aggregate_tps']:.1f} tok/s)", "met": ratio >= 3.5})
    if one and four and four["itl_p50_ms"]:
        ratio = 4 * one["itl_p50_ms"] / four["itl_p50_ms"]
        out.append({"target": "HF bf16: decode-step throughput at 4 vs 1 stream (4 x ITL1/ITL4, "
                              "prefill excluded; info)",
                    "measured": f"{ratio:.2f}x", "met": None})
    if one and one.get("limit_fraction") is not None:
        frac = one["limit_fraction"]
        out.append({"target": "HF bf16 batch-1 decode >= 70% of the bandwidth limit",
                    "measured": f"{frac * 100:.0f}%", "met": frac >= 0.70})
    api = results.get("api")
    if api:
        out.append({"target": "API /v1 stream tokens/s >= 0.97x in-process",
                    "measured": f"{api['tps_ratio']:.3f}x", "met": api["tps_ratio"] >= 0.97})
        out.append({"target": "API added TTFT <= 10 ms",
                    "measured": f"{api['added_ttft_ms']:+.1f} ms",
                    "met": api["added_ttft_ms"] <= 10})
    peers = results.get("peers", [])
    ours, naive = _find(peers, "playground", 4), _find(peers, "naive", 4)
    if ours and naive and naive["aggregate_tps"]:
        ratio = ours["aggregate_tps"] / naive["aggregate_tps"]
        out.append({"target": "ours vs naive generate server, 4 streams aggregate (info)",
                    "measured": f"{ratio:.2f}x", "met": None})
    vllm = _find(peers, "vllm", 4)
    if ours and vllm and vllm["aggregate_tps"]:
        ratio = ours["aggregate_tps"] / vllm["aggregate_tps"]
        out.append({"target": "ours vs vLLM-CPU, 4 streams aggregate (info)",
                    "measured": f"{ratio:.2f}x", "met": None})
    return out
