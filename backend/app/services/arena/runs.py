"""Prompt-set runs: a set of prompts on 2-6 models with one parameter set, as a background job
on the batch machinery (``services/batches``).

Each cell (row x model) is one batch line, so everything a batch promises holds for a run: a
cell's result is committed the moment it finishes, cells start only while no interactive
generation waits on their model, and a restart resumes the run with the cells still pending
(finished ones are never run again). A model that fails (cannot load, engine error) fails its
own cells with the error; the other models' cells go on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.backends import registry
from app.backends.base import ChatMessage
from app.core.config import Settings
from app.core.errors import AppError, Conflict, InvalidRequest, NotFound
from app.schemas.batches import Batch
from app.schemas.prompt_runs import (
    PromptRow,
    PromptRun,
    PromptRunConfig,
    PromptRunCreate,
    PromptRunInfo,
    PromptRunList,
    RunCell,
    RunEvent,
    RunProgress,
    RunStatus,
    Thumb,
)
from app.services.arena.runs_manifest import DigestCache, build_manifest, column_label
from app.services.arena.runs_rows import parse_prompt_set, rows_from_items, run_checks
from app.services.arena.runs_store import RunRecord, RunStore
from app.services.arena.runs_summary import RunThumbVotes, summarize
from app.services.batches.lines import BatchLine
from app.services.batches.runner import BatchService, LineKind
from app.services.generation import GenerationService, ParamsInput
from app.services.models.store import ModelStore

log = logging.getLogger(__name__)

KIND = "internal:prompt_run"
_STATUS: dict[str, RunStatus] = {
    "cancelling": "cancelling",
    "completed": "completed",
    "cancelled": "cancelled",
    "failed": "failed",
    "expired": "failed",
}
_EVENT_POLL_S = 0.3


@dataclass(eq=False)
class PromptRunService:
    """Prompt-set runs: every row of a prompt set against every model, as cells of a batch."""

    settings: Settings
    store: RunStore
    batches: BatchService
    generation: GenerationService
    models: ModelStore
    digests: DigestCache = field(default_factory=DigestCache, init=False)
    _records: dict[str, RunRecord] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        # Registered before the batch runner starts, so runs a restart cut short resume.
        self.batches.register_kind(KIND, LineKind(execute=self._execute_cell))

    # --- creating -----------------------------------------------------------------------------
    async def create(
        self, config: PromptRunConfig, rows: list[PromptRow], rerun_of: RunRecord | None = None
    ) -> PromptRun:
        labels = [column_label(t) for t in config.models]
        for label in labels:
            if labels.count(label) > 1:
                raise InvalidRequest(f"Model '{label}' is listed twice.", param="models")
        params = config.params.model_copy(deep=True)
        cap = self.settings.max_new_tokens_cap
        if params.max_tokens is not None and params.max_tokens > cap:
            raise InvalidRequest(
                f"max_tokens is {params.max_tokens}, over this server's cap of {cap}.",
                param="params.max_tokens",
            )
        if params.seed is None:
            params.seed = random.SystemRandom().randrange(2**31)
        manifest = await asyncio.to_thread(
            build_manifest,
            self.models,
            self.digests,
            config.models,
            params,
            rows,
            rerun_of.manifest if rerun_of else None,
            rerun_of.id if rerun_of else None,
        )
        run_id = f"run_{uuid.uuid4().hex[:20]}"
        record = RunRecord(
            id=run_id,
            batch_id=self.batches.new_id(),
            name=config.name or f"{len(rows)} prompts x {len(labels)} models",
            columns=config.models,
            labels=labels,
            rows=rows,
            params=params,
            manifest=manifest,
            created_at=time.time(),
            rerun_of=rerun_of.id if rerun_of else None,
        )
        lines = [
            BatchLine(
                record.line_no(r, c),
                f"{run_id}:{r}:{c}",
                KIND,
                {"model": target.model, "run_id": run_id, "row": r, "column": c},
            )
            for r in range(1, len(rows) + 1)
            for c, target in enumerate(config.models)
        ]
        self.store.create(record)
        self.batches.create_job(KIND, lines, {"prompt_run": run_id}, batch_id=record.batch_id)
        return self.view(run_id)

    async def create_pasted(self, body: PromptRunCreate) -> PromptRun:
        """A run from pasted rows (objects) or pasted JSONL/CSV text."""
        if (body.rows is None) == (body.text is None):
            raise InvalidRequest("Give exactly one of 'rows' or 'text'.", param="rows")
        if body.rows is not None:
            rows = rows_from_items(body.rows)
            if len(rows) > self.settings.prompt_run_max_rows:
                raise InvalidRequest(
                    f"The prompt set has {len(rows)} rows, more than the "
                    f"{self.settings.prompt_run_max_rows} one run accepts (prompt_run_max_rows).",
                    param="rows",
                )
        else:
            assert body.text is not None
            rows = parse_prompt_set(
                body.text, body.format, self.settings.prompt_run_max_rows, param="text"
            )
        config = PromptRunConfig(name=body.name, models=body.models, params=body.params)
        return await self.create(config, rows)

    async def create_upload(self, config_json: str, data: bytes, filename: str) -> PromptRun:
        """A run from an uploaded JSONL or CSV file and its ``config`` (PromptRunConfig JSON)."""
        try:
            config = PromptRunConfig.model_validate_json(config_json)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise InvalidRequest(
                f"config: {where + ': ' if where else ''}{first.get('msg')}", param="config"
            ) from None
        name = filename.lower()
        fmt = "csv" if name.endswith(".csv") else "jsonl" if name.endswith(".jsonl") else None
        rows = parse_prompt_set(data, fmt, self.settings.prompt_run_max_rows)
        return await self.create(config, rows)

    async def rerun(self, run_id: str) -> PromptRun:
        """A new run of the same rows, models, parameters and seed, on the backends the
        original chose; its manifest names any model whose files or backend changed."""
        old = self._record(run_id)
        config = PromptRunConfig(name=f"{old.name} (re-run)", models=old.columns, params=old.params)
        return await self.create(config, old.rows, rerun_of=old)

    # --- reading ------------------------------------------------------------------------------
    def _record(self, run_id: str) -> RunRecord:
        if run_id not in self._records:
            self._records[run_id] = self.store.get(run_id)
        return self._records[run_id]

    def _batch(self, record: RunRecord) -> Batch:
        return self.batches.store.get(record.batch_id)

    def _info(self, record: RunRecord, batch: Batch) -> PromptRunInfo:
        counts = batch.request_counts
        ended = batch.completed_at or batch.cancelled_at or batch.failed_at
        return PromptRunInfo(
            id=record.id,
            name=record.name,
            status=_STATUS.get(batch.status, "running"),
            created_at=record.created_at,
            finished_at=float(ended) if ended else None,
            models=record.labels,
            rows=len(record.rows),
            progress=RunProgress(
                total=counts.total, completed=counts.completed, failed=counts.failed
            ),
            rerun_of=record.rerun_of,
        )

    def runs(self) -> PromptRunList:
        return PromptRunList(data=[self._info(r, self._batch(r)) for r in self.store.all()])

    def cells(self, record: RunRecord) -> list[RunCell]:
        lines = self.batches.store.line_results(record.batch_id)
        thumbs = self.store.thumbs(record.id)
        cells: list[RunCell] = []
        for r in range(1, len(record.rows) + 1):
            for c, label in enumerate(record.labels):
                status, result = lines.get(record.line_no(r, c), ("pending", None))
                cell = _cell(r, label, status, result)
                cell.thumb = thumbs.get((r, label))
                cells.append(cell)
        return cells

    def view(self, run_id: str) -> PromptRun:
        record = self._record(run_id)
        cells = self.cells(record)
        return PromptRun(
            **self._info(record, self._batch(record)).model_dump(),
            columns=record.columns,
            prompts=record.rows,
            manifest=record.manifest,
            cells=cells,
            summaries=summarize(record.labels, cells),
        )

    def rated_runs(self) -> list[PromptRun]:
        """Every run with at least one thumb (the leaderboard's votes from runs)."""
        return [self.view(run_id) for run_id in self.store.rated_run_ids()]

    def vote_source(self) -> RunThumbVotes:
        return RunThumbVotes(self.rated_runs)

    async def events(self, run_id: str) -> AsyncIterator[RunEvent]:
        """A ``RunEvent`` now and whenever cells finish or the status changes, until the run
        ends (the last event carries the final status)."""
        seen: set[tuple[int, str]] = set()
        last: tuple[str, RunProgress] | None = None
        while True:
            run = await asyncio.to_thread(self.view, run_id)
            new = [c for c in run.cells if c.status != "pending" and (c.row, c.model) not in seen]
            seen.update((c.row, c.model) for c in new)
            if new or last != (run.status, run.progress):
                last = (run.status, run.progress)
                yield RunEvent(status=run.status, progress=run.progress, cells=new)
            if run.status not in ("running", "cancelling"):
                return
            await asyncio.sleep(_EVENT_POLL_S)

    # --- acting -------------------------------------------------------------------------------
    def cancel(self, run_id: str) -> PromptRun:
        record = self._record(run_id)
        status = _STATUS.get(self._batch(record).status, "running")
        if status not in ("running", "cancelling"):
            raise Conflict(f"Run '{run_id}' is already {status}.", code="run_not_cancellable")
        self.batches.cancel(record.batch_id)
        return self.view(run_id)

    def rate(self, run_id: str, row: int, model: str, thumb: Thumb | None) -> RunCell:
        record = self._record(run_id)
        if not 1 <= row <= len(record.rows):
            raise NotFound(f"Run '{run_id}' has no row {row}.", code="cell_not_found")
        if model not in record.labels:
            raise NotFound(f"Run '{run_id}' has no model '{model}'.", code="cell_not_found")
        cell = next(c for c in self.cells(record) if c.row == row and c.model == model)
        if cell.status != "completed":
            raise Conflict(
                f"Cell ({row}, {model}) is {cell.status}; only answers can be rated.",
                code="cell_not_rateable",
            )
        self.store.set_thumb(run_id, row, model, thumb)
        cell.thumb = thumb
        return cell

    # --- the work of one cell (a batch line) --------------------------------------------------
    async def _execute_cell(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        record = self._record(str(body["run_id"]))
        row_no, column = int(body["row"]), int(body["column"])
        row, target = record.rows[row_no - 1], record.columns[column]
        label, backend = record.labels[column], record.manifest.models[column].backend
        messages = [ChatMessage("system", row.system)] if row.system else []
        messages.append(ChatMessage("user", row.prompt))
        p = record.params
        params = ParamsInput(
            max_tokens=p.max_tokens,
            temperature=p.temperature,
            top_p=p.top_p,
            top_k=p.top_k,
            repetition_penalty=p.repetition_penalty,
            seed=p.seed,
            stop=list(p.stop),
        )
        caps = registry.capabilities(backend) if backend else None
        constrained = row.json_schema is not None and bool(caps and caps.json_schema)
        if constrained:
            params.json_schema = json.dumps(row.json_schema)
            params.json_schema_param = "json_schema"
        try:
            job = await self.generation.prepare(
                target.model, params, messages=messages, backend=backend
            )
            outcome = await self.generation.run(job)
        except AppError as exc:
            return exc.status_code, _failed(row_no, label, exc.message)
        except Exception as exc:  # an engine's own failure: this cell fails, the run goes on
            log.exception("prompt run %s cell (%d, %s) failed", record.id, row_no, label)
            return 500, _failed(row_no, label, f"{type(exc).__name__}: {exc}")
        timings = outcome.timings()
        usage = outcome.usage()
        ttft = timings.ttft_ms
        if ttft is not None and timings.load_ms:
            ttft = max(0.0, ttft - timings.load_ms)  # a cold model's load is not its TTFT
        cell = RunCell(
            row=row_no,
            model=label,
            status="completed",
            text=outcome.text,
            finish_reason=outcome.finish_reason,
            ttft_ms=ttft,
            tokens_per_s=timings.tokens_per_second,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_ms=timings.total_ms,
            backend=timings.backend,
            constrained=constrained,
            checks=run_checks(row, outcome.text),
            finished_at=time.time(),
        )
        return 200, cell.model_dump(mode="json")


def _failed(row: int, label: str, error: str) -> dict[str, Any]:
    cell = RunCell(row=row, model=label, status="failed", error=error, finished_at=time.time())
    return cell.model_dump(mode="json")


def _cell(row: int, label: str, status: str, result: dict[str, Any] | None) -> RunCell:
    """A cell from its batch line: the runner stores ``{"response": {"body": ...}}``."""
    if result is None or status == "pending":
        return RunCell(row=row, model=label, status="pending")
    body = (result.get("response") or {}).get("body") or {}
    if "row" in body:
        return RunCell.model_validate(body)
    # A line the batch runner answered itself (its own error envelope).
    message = str((body.get("error") or {}).get("message", "The cell failed."))
    return RunCell(row=row, model=label, status="failed", error=message)
