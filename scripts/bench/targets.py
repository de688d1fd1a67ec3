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
    out += _prefix_targets(results.get("prefix"))
    downloads = results.get("downloads")
    if downloads:
        ours = downloads["clients"]["ours"]
        httpx_reads = downloads["clients"]["ours-httpx"]["ratio_to_curl"]
        out.append({"target": "Downloads >= 0.9x curl on loopback, sha256 verified",
                    "measured": f"{ours['ratio_to_curl']:.2f}x ({ours['median_mb_s']:.0f} MB/s; "
                                f"httpx's own reads {httpx_reads:.2f}x)",
                    "met": ours["ratio_to_curl"] >= 0.9})
    peers = results.get("peers", [])
    ours1, naive1 = _find(peers, "playground", 1), _find(peers, "naive", 1)
    if ours1 and naive1 and naive1["e2e_tps"]:
        ratio = ours1["e2e_tps"] / naive1["e2e_tps"]
        out.append({"target": "HF bf16 /v1 at 1 stream >= 1.0x the naive generate server "
                              "(tokens/s per stream, end to end)",
                    "measured": f"{ratio:.2f}x ({ours1['e2e_tps']:.1f} vs "
                                f"{naive1['e2e_tps']:.1f} tok/s; ITL p50 "
                                f"{ours1['itl_p50_ms']:.0f} vs {naive1['itl_p50_ms']:.0f} ms)",
                    "met": ratio >= 1.0})
    out += _gguf_targets(results.get("external", []))
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


def _prefix_targets(prefix: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not prefix:
        return []
    p = prefix["prefix"]
    out = [{"target": "HF prefix cache: TTFT with a shared ~900-token prefix <= 0.35x cold (/v1)",
            "measured": f"{p['ratio']:.2f}x ({p['warm_ttft_ms']:.0f} vs {p['cold_ttft_ms']:.0f} ms, "
                        f"{p['cached_tokens']} of {p['prompt_tokens']} tokens cached)",
            "met": p["ratio"] <= 0.35}]
    rows = {row["chunk"]: row for row in prefix["join"]}
    chunk = int(prefix.get("default_chunk") or 0)
    on, off = rows.get(chunk), rows.get(0)
    if on:
        out.append({"target": "HF chunked prefill: running stream's worst gap <= 1.0 s while a "
                              f"~900-token prompt joins (chunk {chunk}, /v1)",
                    "measured": f"{on['worst_gap_ms'] / 1000:.2f} s"
                                + (f" (one-shot prefill: {off['worst_gap_ms'] / 1000:.2f} s)"
                                   if off else ""),
                    "met": on["worst_gap_ms"] <= 1000})
    if on and off:
        out.append({"target": "HF chunked prefill: ITL p95 of the running stream, chunked vs "
                              "one-shot (info)",
                    "measured": f"{on['itl_p95_ms']:.0f} vs {off['itl_p95_ms']:.0f} ms; joiner "
                                f"TTFT {on['joiner_ttft_ms']:.0f} vs {off['joiner_ttft_ms']:.0f} ms",
                    "met": None})
    return out


def named_row(rows: list[dict[str, Any]], label: str, stem: str, streams: int) -> dict | None:
    """The row named ``"<label> (<stem>)"`` at ``streams`` concurrent streams (GGUF rows)."""
    return next((r for r in rows if r.get("name") == f"{label} ({stem})"
                 and r.get("concurrency") == streams), None)


def _gguf_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per GGUF file: our /v1 at 4 streams over 1 stream, and our batch 1 over llama-cpp-python's
    server (rows of scripts/bench/llamacpp.py)."""
    out: list[dict[str, Any]] = []
    stems = sorted({str(r.get("name", "")).split(" (", 1)[1].rstrip(")")
                    for r in rows if str(r.get("name", "")).startswith("ours /v1 llamacpp (")})
    for stem in stems:
        one = named_row(rows, "ours /v1 llamacpp", stem, 1)
        four = named_row(rows, "ours /v1 llamacpp", stem, 4)
        peer = named_row(rows, "llama-cpp-python server", stem, 1)
        if one and four and one["aggregate_tps"]:
            ratio = four["aggregate_tps"] / one["aggregate_tps"]
            step = 4 * one["itl_p50_ms"] / four["itl_p50_ms"] if four["itl_p50_ms"] else 0.0
            out.append({"target": f"GGUF {stem}: 4 streams aggregate >= 2.5x one stream (/v1)",
                        "measured": f"{ratio:.2f}x ({four['aggregate_tps']:.1f} vs "
                                    f"{one['aggregate_tps']:.1f} tok/s; decode step alone "
                                    f"{step:.2f}x, TTFT p50 {four['ttft_p50_ms']:.0f} vs "
                                    f"{one['ttft_p50_ms']:.0f} ms)",
                        "met": ratio >= 2.5})
        if one and peer and peer["e2e_tps"]:
            ratio = one["e2e_tps"] / peer["e2e_tps"]
            out.append({"target": f"GGUF {stem}: batch 1 >= llama-cpp-python's server",
                        "measured": f"{ratio:.2f}x ({one['e2e_tps']:.1f} vs "
                                    f"{peer['e2e_tps']:.1f} tok/s)",
                        "met": ratio >= 1.0})
    return out
