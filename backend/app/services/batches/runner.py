"""The batch service: creates batches and runs their lines in the background.

Lines go through the same handlers as interactive requests (a dispatcher from the API layer,
so through the one generation service) at ``batch_concurrency`` at a time, and therefore batch
with each other in the engine. They yield to interactive traffic: a line starts only while no
interactive generation is admitted on its model (admission counts every queued or running
generation; the runner subtracts its own). Lines already running finish; new ones wait.

A batch survives a restart: its lines are in the database, each result is committed before it
counts, and :meth:`BatchService.start` resumes every unfinished batch with its pending lines.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from app.services.batches.store import BatchStore
from app.services.generation import GenerationService

log = logging.getLogger(__name__)

# (url, body) -> (HTTP status, response body): runs one request line.
Dispatcher = Callable[[str, dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]

_POLL_S = 0.05


@dataclass(frozen=True)
class JobKind:
    """A kind of background job that rides on the batch machinery without being an OpenAI
    batch: its lines run through ``execute`` instead of the HTTP dispatcher, it writes no
    output files, and ``on_done(batch_id)`` is called once it ends. Such batches keep every
    batch guarantee (results committed one line at a time, yielding to interactive traffic,
    resumed after a restart) and stay out of ``/v1/batches`` listings."""

    execute: Dispatcher
    on_done: Callable[[str], None] | None = None


class BatchService:
    def __init__(
        self, settings: Settings, db: Database, generation: GenerationService, dispatch: Dispatcher
    ) -> None:
        self.settings = settings
        self.files = FileStore(db, settings.data_dir / "files")
        self.store = BatchStore(db)
        self.generation = generation
        self.dispatch = dispatch
        self._wake = asyncio.Event()
        self._cancelled: set[str] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: dict[str, int] = {}  # model -> batch lines running on it
        self._kinds: dict[str, JobKind] = {}  # internal endpoint -> how its lines run
        self.deferrals = 0  # times a line waited for interactive traffic (for tests, logs)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Resume the batches a stop or crash interrupted, then serve new ones."""
        self._loop_task = asyncio.create_task(self._loop(), name="batch-runner")
        self._wake.set()

    async def shutdown(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task

    def register_kind(self, endpoint: str, kind: JobKind) -> None:
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
        self._wake.set()
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
        self._wake.set()
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
        self._cancelled.add(batch_id)
        self._wake.set()
        return self.store.get(batch_id)

    # --- the runner ---------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for batch_id in self.store.active_ids():
                try:
                    await self._run(batch_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("batch %s failed", batch_id)
                    batch = self.store.get(batch_id)
                    batch.status, batch.failed_at = "failed", int(time.time())
                    batch.errors = {
                        "object": "list",
                        "data": [{"code": "server_error", "message": "The batch runner failed."}],
                    }
                    self.store.save(batch)

    def _is_cancelled(self, batch_id: str) -> bool:
        return batch_id in self._cancelled or self.store.get(batch_id).status == "cancelling"

    async def _run(self, batch_id: str) -> None:
        if not self._is_cancelled(batch_id):
            queue: asyncio.Queue[BatchLine] = asyncio.Queue()
            for line in self.store.pending(batch_id):
                queue.put_nowait(line)
            workers = [
                asyncio.create_task(self._worker(batch_id, queue))
                for _ in range(min(self.settings.batch_concurrency, queue.qsize()))
            ]
            watcher = asyncio.create_task(self._watch_cancel(batch_id, workers))
            try:
                await asyncio.gather(*workers, return_exceptions=True)
            finally:
                watcher.cancel()
                for task in workers:
                    task.cancel()
        self._finalize(batch_id)

    async def _watch_cancel(self, batch_id: str, workers: list[asyncio.Task[None]]) -> None:
        # Cancelling stops the lines in flight (their engines stop within a step); their
        # results were never recorded, so the finished ones are exactly what is kept.
        while batch_id not in self._cancelled:
            await asyncio.sleep(_POLL_S)
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
        cancelled = batch.status == "cancelling" or batch_id in self._cancelled
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
        self.store.save(batch)
        self._cancelled.discard(batch_id)
        log.info("batch %s %s: %s", batch_id, batch.status, self.store.counts(batch_id))

    def _end_job(self, batch: Batch, cancelled: bool, kind: JobKind) -> None:
        now = int(time.time())
        if cancelled:
            batch.status, batch.cancelled_at = "cancelled", now
        else:
            batch.status, batch.completed_at = "completed", now
        self.store.save(batch)
        self._cancelled.discard(batch.id)
        if kind.on_done is not None:
            kind.on_done(batch.id)

    def _output(self, name: str, lines: list[str]) -> str:
        return self.files.create(name, "batch_output", ("\n".join(lines) + "\n").encode()).id


__all__ = ["BatchService", "Dispatcher", "JobKind", "write_atomic"]
