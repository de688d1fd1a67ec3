"""Output of a run: a console table, a JSON file under bench-results/, and this suite's section
of docs/benchmarks.md (between its own marker comments; other sections are left untouched)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench-suite:begin (written by `python -m scripts.bench all`; edits are overwritten) -->"
END = "<!-- bench-suite:end -->"
_COLUMNS = [
    ("run", "name"), ("streams", "concurrency"), ("agg tok/s", "aggregate_tps"),
    ("tok/s per stream (e2e)", "e2e_tps"), ("TTFT p50 ms", "ttft_p50_ms"),
    ("ITL p50 ms", "itl_p50_ms"), ("ITL p95 ms", "itl_p95_ms"), ("peak RSS MB", "peak_rss_mb"),
    ("agg / b1 limit", "limit_fraction"), ("errors", "errors"),
]


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for row in rows:
        cells = [_fmt(row.get(key)) for _, key in _COLUMNS]
        if row.get("limit_fraction") is not None:
            cells[8] = f"{row['limit_fraction'] * 100:.0f}%"
        out.append(cells)
    return out


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    header = [name for name, _ in _COLUMNS]
    body = table(rows)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    print(f"\n{title}")
    for line in [header, *body]:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))))


def markdown_table(rows: list[dict[str, Any]]) -> str:
    header = [name for name, _ in _COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table(rows)]
    return "\n".join(lines)


def write_json(results: dict[str, Any], out_dir: Path, stem: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    text = json.dumps(results, indent=2, default=str)
    path.write_text(text)
    (out_dir / f"{stem}-latest.json").write_text(text)
    return path


def write_doc(doc: Path, section: str) -> None:
    """Replace this suite's marked section of ``doc`` (append it if absent, create the file)."""
    block = f"{BEGIN}\n{section.strip()}\n{END}\n"
    if not doc.exists():
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text("# Benchmarks\n\n" + block)
        return
    text = doc.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        doc.write_text(head + block + ("\n" + tail if tail else ""))
    else:
        doc.write_text(text.rstrip("\n") + "\n\n" + block)
