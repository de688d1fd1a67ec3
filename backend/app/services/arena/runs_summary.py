"""What is computed from a run's cells: per-model summaries, the CSV export, and the pairwise
votes its thumbs give the arena leaderboard."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import statistics
from collections.abc import Callable

from app.schemas.prompt_runs import (
    CHECK_NAMES,
    CheckSummary,
    ModelSummary,
    PromptRun,
    RunCell,
)
from app.services.arena.votes import PairVote, Winner


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarize(labels: list[str], cells: list[RunCell]) -> list[ModelSummary]:
    """Per model: counts, median TTFT and tokens/s over its finished cells, the pass rate of
    each check its rows give (a failed cell counts as not passing), thumbs."""
    out: list[ModelSummary] = []
    for label in labels:
        mine = [c for c in cells if c.model == label]
        done = [c for c in mine if c.status == "completed"]
        checks: list[CheckSummary] = []
        for name in CHECK_NAMES:
            results = [r.passed for c in done for r in c.checks if r.name == name]
            if results:
                passed = sum(results)
                checks.append(
                    CheckSummary(
                        name=name, passed=passed, total=len(results), rate=passed / len(results)
                    )
                )
        out.append(
            ModelSummary(
                model=label,
                completed=len(done),
                failed=sum(c.status == "failed" for c in mine),
                median_ttft_ms=_median([c.ttft_ms for c in done]),
                median_tokens_per_s=_median([c.tokens_per_s for c in done]),
                completion_tokens=sum(c.completion_tokens or 0 for c in done),
                checks=checks,
                thumbs_up=sum(c.thumb == "up" for c in mine),
                thumbs_down=sum(c.thumb == "down" for c in mine),
            )
        )
    return out


_CSV_COLUMNS = [
    "run_id", "row", "row_id", "prompt", "model", "model_id", "backend", "model_sha256", "seed",
    "params", "status", "text", "finish_reason", "ttft_ms", "tokens_per_s", "prompt_tokens",
    "completion_tokens", "total_ms", "checks", "passed_all", "thumb", "error",
]  # fmt: skip


def export_csv(run: PromptRun) -> str:
    """One line per cell; every line carries the manifest's columns for its model (digest,
    backend, seed, parameters), so a single line says how it was produced."""
    by_label = {m.label: m for m in run.manifest.models}
    params = run.manifest.params.model_dump_json(exclude_none=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_COLUMNS)
    writer.writeheader()
    for cell in run.cells:
        row = run.prompts[cell.row - 1]
        model = by_label[cell.model]
        writer.writerow(
            {
                "run_id": run.id,
                "row": cell.row,
                "row_id": row.id or "",
                "prompt": row.prompt,
                "model": cell.model,
                "model_id": model.model,
                "backend": cell.backend or model.backend or "",
                "model_sha256": model.sha256 or "",
                "seed": run.manifest.seed,
                "params": params,
                "status": cell.status,
                "text": cell.text or "",
                "finish_reason": cell.finish_reason or "",
                "ttft_ms": "" if cell.ttft_ms is None else round(cell.ttft_ms, 2),
                "tokens_per_s": "" if cell.tokens_per_s is None else round(cell.tokens_per_s, 2),
                "prompt_tokens": cell.prompt_tokens if cell.prompt_tokens is not None else "",
                "completion_tokens": cell.completion_tokens
                if cell.completion_tokens is not None
                else "",
                "total_ms": "" if cell.total_ms is None else round(cell.total_ms, 2),
                "checks": json.dumps({c.name: c.passed for c in cell.checks}),
                "passed_all": "" if not cell.checks else all(c.passed for c in cell.checks),
                "thumb": cell.thumb or "",
                "error": cell.error or "",
            }
        )
    return buffer.getvalue()


def _winner(a: str, b: str) -> Winner:
    if a == b:
        return "tie" if a == "up" else "both_bad"
    return "a" if a == "up" else "b"


def run_votes(run: PromptRun) -> list[PairVote]:
    """The pairwise votes of one run: for each row, every two rated cells make one vote (up vs
    down: a win; both up: a tie; both down: both bad)."""
    votes: list[PairVote] = []
    for row in range(1, len(run.prompts) + 1):
        rated = [c for c in run.cells if c.row == row and c.thumb is not None]
        for a, b in itertools.combinations(rated, 2):
            assert a.thumb is not None and b.thumb is not None
            votes.append(
                PairVote(
                    model_a=a.model,
                    model_b=b.model,
                    winner=_winner(a.thumb, b.thumb),
                    source="run",
                    ttft_ms_a=a.ttft_ms,
                    ttft_ms_b=b.ttft_ms,
                    tokens_per_s_a=a.tokens_per_s,
                    tokens_per_s_b=b.tokens_per_s,
                )
            )
    return votes


class RunThumbVotes:
    """The arena's ``VoteSource`` for prompt-set runs: the thumbs of every rated run."""

    def __init__(self, rated_runs: Callable[[], list[PromptRun]]) -> None:
        self._rated_runs = rated_runs

    async def pair_votes(self) -> list[PairVote]:
        runs = await asyncio.to_thread(self._rated_runs)
        return [vote for run in runs for vote in run_votes(run)]
