"""The batch service: creates batches and runs their lines in the background.

Lines go through the same handlers as interactive requests (a dispatcher from the API layer,
so through the one generation service) at ``batch_concurrency`` at a time, and therefore batch
with each other in the engine. They yield to interactive traffic: a line starts only while no
interactive generation is admitted on its model (admission counts every queued or running
generation; the runner subtracts its own). Lines already running finish; new ones wait.

A batch survives a restart: its lines are in the database, each result is committed before it
counts, and a batch is a kind of background job (:mod:`app.services.jobs`), so the runner
resumes every unfinished batch with its pending lines, in this process or, with
``MP_REDIS_URL``, on a queue worker. A run is idempotent: it takes only the lines still pending,
a result is recorded only on a pending line (a line in flight when its worker died has none and
runs again), and the batch moves to its final state by a conditional update, once. A cancel on
any replica is seen by the worker through the batch's row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError, Conflict, InvalidRequest
from app.schemas.batches import BATCH_ENDPOINTS, Batch, BatchCreateRequest, RequestCounts
from app.services.batches.files import FileStore, write_atomic
from app.services.batches.lines import BatchLine, parse_lines
from app.services.batches.store import ACTIVE, BatchStore
from app.services.generation import GenerationService
from app.services.jobs import JobContext, JobKind, JobRunner, RunsJobs

log = logging.getLogger(__name__)

# (url, body) -> (HTTP status, response body): runs one request line.
Dispatcher = Callable[[str, dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]

_POLL_S = 0.05
JOB_KIND = "batch"


@dataclass(frozen=True)
class LineKind:
    """An internal kind of batch line (prompt-set cells). Batches of it ride on the batch
    job without being OpenAI batches: their lines run through ``execute`` instead of the HTTP
    dispatcher, they write no output files, and ``on_done(batch_id)`` is called once one ends.
    They keep every batch guarantee (results committed one line at a time, yielding to
    interactive traffic, resumed after a restart) and stay out of ``/v1/batches`` listings."""

    execute: Dispatcher
    on_done: Callable[[str], None] | None = None


class BatchService(RunsJobs):
    def __init__(
        self,
        settings: Settings,
        db: Database,
        generation: GenerationService,
        dispatch: Dispatcher,
        runner: JobRunner | None = None,
    ) -> None:
        self.settings = settings
        # One batch at a time per process: its lines already run ``batch_concurrency`` wide
        # and yield to interactive traffic; a second batch would only compete with the first.
        self.use_runner(
            runner,
            JobKind(
                JOB_KIND,
                self._run_job,
                self.store_active_ids,
                self.give_up,
                should_stop=self._should_stop,
                concurrency=1,
            ),
        )
        self.files = FileStore(db, settings.files_root / "files")
        self.store = BatchStore(db)
        self.generation = generation
        self.dispatch = dispatch
        self._running: dict[str, int] = {}  # model -> batch lines running on it
        self._kinds: dict[str, LineKind] = {}  # internal endpoint -> how its lines run
        self.deferrals = 0  # times a line waited for interactive traffic (for tests, logs)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """With a runner of its own, resume the batches a stop or crash interrupted (the app's
        runner does that for every kind at once)."""
        await self.start_own_runner()

    async def shutdown(self) -> None:
        await self.stop_own_runner()

    def register_kind(self, endpoint: str, kind: LineKind) -> None:
        """Serve batches of an internal ``endpoint`` (register before :meth:`start`, so the
        batches a restart interrupted resume with their executor)."""
        if endpoint in BATCH_ENDPOINTS:
            raise ValueError(f"{endpoint} is a public batch endpoint")
        self._kinds[endpoint] = kind

    @staticmethod
    def new_id() -> str:
        return f"batch_{uuid.uuid4().hex}"

    def create_job(
        self,
        endpoint: str,
        lines: list[BatchLine],
        metadata: dict[str, str] | None = None,
        batch_id: str | None = None,
    ) -> Batch:
        """Queue a batch of a registered internal kind; each line's ``url`` is ``endpoint``.
        ``batch_id`` (from :meth:`new_id`) lets the caller store its own record first."""
        if endpoint not in self._kinds:
            raise ValueError(f"no job kind registered for {endpoint}")
        now = int(time.time())
        batch = Batch(
            id=batch_id or self.new_id(),
            endpoint=endpoint,
            input_file_id="",
            completion_window="24h",
            status="in_progress",
            created_at=now,
            in_progress_at=now,
            request_counts=RequestCounts(total=len(lines), completed=0, failed=0),
            metadata=metadata,
        )
        self.store.create(batch, lines)
        self._kick(batch.id)
        return batch

    # --- API ----------------------------------------------------------------------------------
    def parse_upload(self, data: bytes) -> list[BatchLine]:
        return parse_lines(data, self.settings.batch_max_lines)

    def create(self, body: BatchCreateRequest) -> Batch:
        if body.endpoint not in BATCH_ENDPOINTS:
            raise InvalidRequest(
                f"Endpoint '{body.endpoint}' is not supported for batches; "
                f"use one of {', '.join(BATCH_ENDPOINTS)}.",
                param="endpoint",
            )
        if body.completion_window != "24h":
            raise InvalidRequest("completion_window must be '24h'.", param="completion_window")
        meta = self.files.get(body.input_file_id, param="input_file_id")
        if meta.purpose != "batch":
            raise InvalidRequest(
                f"File '{meta.id}' has purpose '{meta.purpose}', not 'batch'.",
                param="input_file_id",
            )
        lines = self.parse_upload(self.files.path(meta.id).read_bytes())
        for line in lines:
            if line.url != body.endpoint:
                raise InvalidRequest(
                    f"Line {line.line_no}: url '{line.url}' differs from the batch endpoint "
                    f"'{body.endpoint}'; one batch serves one endpoint.",
                    param="input_file_id",
                    code="invalid_batch_line",
                )
        now = int(time.time())
        batch = Batch(
            id=f"batch_{uuid.uuid4().hex}",
            endpoint=body.endpoint,
            input_file_id=meta.id,
            completion_window="24h",
            status="in_progress",
            created_at=now,
            in_progress_at=now,
            expires_at=now + 24 * 3600,
            request_counts=RequestCounts(total=len(lines), completed=0, failed=0),
            metadata=body.metadata,
        )
        self.store.create(batch, lines)
        self._kick(batch.id)
        return batch

    def cancel(self, batch_id: str) -> Batch:
        batch = self.store.get(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            raise Conflict(
                f"Batch '{batch_id}' is already {batch.status}.", code="batch_not_cancellable"
            )
        if batch.status != "cancelling":
            batch.status, batch.cancelling_at = "cancelling", int(time.time())
            self.store.save(batch)
        self.runner.signal(JOB_KIND, batch_id)  # running here: stop now, not at the next poll
        self._kick(batch_id)  # not running: run, to write the cancelled batch's files
        return self.store.get(batch_id)

    def _kick(self, batch_id: str) -> None:
        self.runner.submit_soon(JOB_KIND, batch_id)

    # --- queued batches (run by a worker) -----------------------------------------------------
    async def _run_job(self, batch_id: str, ctx: JobContext) -> None:
        """Run a batch to its end here; a no-op once it is no longer active."""
        if batch_id in self.store.active_ids():
            await self._run_guarded(batch_id, ctx)

    def store_active_ids(self) -> list[str]:
        return self.store.active_ids()

    def give_up(self, batch_id: str, reason: str) -> None:
        self._fail(batch_id, reason)

    def _should_stop(self, batch_id: str) -> bool:
        """Cancelled (perhaps on another replica) or no longer active."""
        try:
            status = self.store.get(batch_id).status
        except AppError:  # gone
            return True
        return status == "cancelling" or status not in ACTIVE

    # --- the runner ---------------------------------------------------------------------------
    async def _run_guarded(self, batch_id: str, ctx: JobContext) -> None:
        try:
            await self._run(batch_id, ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("batch %s failed", batch_id)
            self._fail(batch_id, "The batch runner failed.")

    def _fail(self, batch_id: str, message: str) -> None:
        batch = self.store.get(batch_id)
        batch.status, batch.failed_at = "failed", int(time.time())
        batch.errors = {"object": "list", "data": [{"code": "server_error", "message": message}]}
        self.store.save_if_active(batch)

    def _is_cancelled(self, batch_id: str) -> bool:
        return self.store.get(batch_id).status == "cancelling"

    async def _run(self, batch_id: str, ctx: JobContext) -> None:
        if not self._is_cancelled(batch_id):
            queue: asyncio.Queue[BatchLine] = asyncio.Queue()
            for line in self.store.pending(batch_id):
                queue.put_nowait(line)
            workers = [
                asyncio.create_task(self._worker(batch_id, queue))
                for _ in range(min(self.settings.batch_concurrency, queue.qsize()))
            ]
            watcher = asyncio.create_task(self._watch_cancel(ctx, workers))
            try:
                await asyncio.gather(*workers, return_exceptions=True)
            finally:
                watcher.cancel()
                for task in workers:
                    task.cancel()
        if ctx.stopping:
            return  # the process stops: the batch stays active and resumes with what is left
        self._finalize(batch_id)

    async def _watch_cancel(self, ctx: JobContext, workers: list[asyncio.Task[None]]) -> None:
        # Cancelling stops the lines in flight (their engines stop within a step); their
        # results were never recorded, so the finished ones are exactly what is kept.
        await ctx.wait_cancelled(_POLL_S)
        for task in workers:
            task.cancel()

    async def _worker(self, batch_id: str, queue: asyncio.Queue[BatchLine]) -> None:
        while not queue.empty():
            line = queue.get_nowait()
            model = str(line.body.get("model", ""))
            await self._yield_to_interactive(model)
            self._running[model] = self._running.get(model, 0) + 1
            try:
                status, body = await self._call(line)
            finally:
                self._running[model] -= 1
            result = {
                "id": f"batch_req_{uuid.uuid4().hex}",
                "custom_id": line.custom_id,
                "response": {"status_code": status, "request_id": uuid.uuid4().hex, "body": body},
                "error": None,
            }
            self.store.record(batch_id, line.line_no, status == 200, result)

    async def _yield_to_interactive(self, model: str) -> None:
        waited = False
        while self.generation.admission.depth(model) - self._running.get(model, 0) > 0:
            waited = True
            await asyncio.sleep(_POLL_S)
        if waited:
            self.deferrals += 1

    async def _call(self, line: BatchLine) -> tuple[int, dict[str, Any]]:
        kind = self._kinds.get(line.url)
        try:
            if kind is not None:
                return await kind.execute(line.url, line.body)
            return await self.dispatch(line.url, line.body)
        except AppError as exc:
            return exc.status_code, exc.to_body()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("batch line %s failed", line.custom_id)
            return 500, {
                "error": {
                    "message": "Internal server error.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }

    def _finalize(self, batch_id: str) -> None:
        """Write the output and error files (atomically) from the recorded results."""
        batch = self.store.get(batch_id)
        if batch.status not in ACTIVE:  # finalized by an earlier run of this job
            return
        cancelled = batch.status == "cancelling"
        kind = self._kinds.get(batch.endpoint)
        if kind is not None:
            self._end_job(batch, cancelled, kind)
            return
        if not cancelled:
            batch.status, batch.finalizing_at = "finalizing", int(time.time())
            self.store.save(batch)
        ok: list[str] = []
        failed: list[str] = []
        for status, result in self.store.results(batch_id):
            (ok if status == "completed" else failed).append(json.dumps(result))
        if ok:
            batch.output_file_id = self._output(f"{batch_id}_output.jsonl", ok)
        if failed:
            batch.error_file_id = self._output(f"{batch_id}_error.jsonl", failed)
        now = int(time.time())
        if cancelled:
            batch.status, batch.cancelled_at = "cancelled", now
        else:
            batch.status, batch.completed_at = "completed", now
        if not self.store.save_if_active(batch):
            log.info("batch %s ended elsewhere; not marked again", batch_id)
        log.info("batch %s %s: %s", batch_id, batch.status, self.store.counts(batch_id))

    def _end_job(self, batch: Batch, cancelled: bool, kind: LineKind) -> None:
        now = int(time.time())
        if cancelled:
            batch.status, batch.cancelled_at = "cancelled", now
        else:
            batch.status, batch.completed_at = "completed", now
        ended = self.store.save_if_active(batch)
        if ended and kind.on_done is not None:
            kind.on_done(batch.id)

    def _output(self, name: str, lines: list[str]) -> str:
        return self.files.create(name, "batch_output", ("\n".join(lines) + "\n").encode()).id


__all__ = ["BatchService", "Dispatcher", "LineKind", "write_atomic"]
