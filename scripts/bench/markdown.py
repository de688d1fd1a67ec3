"""The Markdown of this suite's section of docs/benchmarks.md, rendered from a results dict."""

from __future__ import annotations

from typing import Any

from scripts.bench import download, prefix
from scripts.bench.report import markdown_table


def _targets(results: dict[str, Any]) -> str:
    lines = ["| target | measured | met |", "|---|---|---|"]
    for t in results.get("targets", []):
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    return "\n".join(lines)


def _some(pressure: str) -> str:
    return pressure.splitlines()[0] if pressure else "n/a"


def render(results: dict[str, Any]) -> str:
    m = results["manifest"]
    bw = results.get("bandwidth", {})
    parts = [
        "## Engine benchmarks (scripts/bench)",
        (f"Command: `{m['command']}` — run {m['started_utc']}, {results.get('duration_s', 0):.0f} s, "
        f"commit `{m['git_commit'][:10]}`{' (dirty tree)' if m['git_dirty'] else ''}."),
        (f"Machine: {m['cpu_model']}, {m['physical_cores']} cores, {m['memory_total_gb']} GB, "
        f"{m['threads']} threads for every engine. torch {m['versions'].get('torch')}, "
        f"transformers {m['versions'].get('transformers')}, llama-cpp-python "
        f"{m['versions'].get('llama_cpp_python')}."),
        ("**These figures are noisy**: the machine was shared with other engineers' jobs during "
        f"the run. CPU pressure (`/proc/pressure/cpu`) at start: `{_some(m['cpu_pressure_start'])}`; "
        f"at end: `{_some(results.get('cpu_pressure_end', 'n/a'))}`. Compare ratios within one run, not "
        "absolute figures across runs."),
        "### Targets",
        _targets(results),
        "### Memory bandwidth and the batch-1 limit",
    ]
    if bw:
        start, end = bw.get("start", {}), bw.get("end", {})
        parts.append(
            f"Read bandwidth (1 GiB fp32 sum, median of 9): {start.get('threads_used', {}).get('median_gbps', 0):.1f} GB/s "
            f"with {m['threads']} threads at the start, {end.get('threads_used', {}).get('median_gbps', 0):.1f} GB/s at the end"
            + "".join(f"; {label}: {start[key]['median_gbps']:.1f} GB/s"
                      for key, label in (("two_threads", "2 threads"), ("one_thread", "1 thread"))
                      if key in start)
            + ". The limit uses the start figure."
        )
        lines = ["| model | bytes read per token | batch-1 limit tok/s |", "|---|---|---|"]
        for name, c in results.get("ceilings", {}).items():
            lines.append(f"| {name} | {c['bytes_per_token'] / 1e6:.0f} MB | {c['tok_s']:.1f} |")
        parts.append("\n".join(lines))
    parts.append("`agg / b1 limit` is aggregate tokens/s over the batch-1 bandwidth limit of that "
                 "model: at 1 stream it is the fraction of the memory-bandwidth bound reached; "
                 "batching can pass 100% because one weight read serves every stream.")
    if results.get("engine"):
        parts += [("### In-process engines (Backend.stream, greedy, "
                  f"{results.get('engine_tokens', results['max_tokens'])} tokens per stream)"),
                  markdown_table(results["engine"])]
    if results.get("peers"):
        parts += [("### Servers side by side (streamed /v1/chat/completions over HTTP, "
                  f"{results['max_tokens']} tokens per stream)"),
                  markdown_table(results["peers"])]
    api = results.get("api")
    if api:
        parts += [
            "### API overhead (same model, one stream, alternating rounds)",
            (f"End-to-end tokens/s (request start to last token): in-process "
            f"{api['inprocess_tps']:.2f} vs HTTP {api['http_tps']:.2f} "
            f"(ratio {api['tps_ratio']:.3f}); TTFT {api['inprocess_ttft_ms']:.1f} ms vs "
            f"{api['http_ttft_ms']:.1f} ms (added {api['added_ttft_ms']:+.1f} ms); median of "
            f"{api['rounds']} rounds of {api['max_tokens']} tokens."),
        ]
    if results.get("prefix"):
        parts.append(prefix.markdown(results["prefix"]))
    if results.get("downloads"):
        d = results["downloads"]
        parts += [(f"### Downloads (a {d['size_bytes'] / 2**20:.0f} MiB file from the local Hub "
                   f"stand-in, {d['rounds']} rounds in rotating order; scripts/bench/download.py)"),
                  download.markdown(d)]
    if results.get("external"):
        parts += [("### GGUF through servers: ours (llama.cpp backend) vs llama-cpp-python's "
                  "server (rows from scripts/bench/llamacpp.py)"),
                  markdown_table(results["external"])]
    if results.get("notes"):
        parts += ["### Notes", "\n".join(f"- {n}" for n in results["notes"])]
    models = "\n".join(f"- `{k}`: sha256 `{v['sha256'][:16]}…`" for k, v in m["models"].items())
    parts += ["### Manifest", "Model digests:\n" + models,
              f"Full manifest and per-run figures: `{results.get('json_path', 'bench-results/')}`."]
    return "\n\n".join(parts)
