"""The queue worker: runs queued jobs (arq) with the services of this process.

``playground worker`` runs one of these with no HTTP server; ``playground serve`` with Redis runs
one beside the API unless ``--no-worker``. Models and embedders load only when a job needs them
(the model manager and the embedder pool are lazy).

Beyond arq itself the worker adds three things:

* a heartbeat: a running job's in-progress key is renewed every third of the visibility
  timeout, so a live job of any length keeps its claim and the job of a dead worker is claimed
  again after at most ``MP_JOB_VISIBILITY_TIMEOUT_S``;
* a bounded number of tries: past ``MP_JOB_MAX_TRIES`` starts (workers that died, tries that
  timed out) the job's row is marked failed instead of running it again;
* a sweep, at start and every visibility timeout, that queues every row still active in the
  database (ids are deterministic, so a queued or running job is not queued twice): a job
  whose enqueue was lost, or that a stopping worker handed back, is picked up again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any, cast

from app.core.config import Settings
from app.services.jobs.queue import (
    HEALTH_INTERVAL_S,
    QUEUE_NAME,
    JobQueue,
    health_key,
    redis_settings,
)
from app.services.jobs.runner import JobRunner

log = logging.getLogger(__name__)


class QueueWorker:
    """Takes queued jobs off Redis and runs them through the runner's ``execute`` (so a cancel
    or a stop in this process reaches them as it reaches any job)."""

    def __init__(self, settings: Settings, queue: JobQueue, runner: JobRunner):
        self.settings = settings
        self.queue = queue
        self.runner = runner
        self.handlers = runner.kinds
        self._worker: Any = None
        self._closing = False
        self._stopping = False
        self._lost: list[Any] = []  # arq workers whose loop ended with a Redis error
        self._running: set[tuple[str, str]] = set()  # (kind, row id) of the jobs running here
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._spawn()
        self._tasks.append(asyncio.create_task(self._sweep(), name="queue-sweep"))
        log.info("queue worker started (%s)", ", ".join(self.handlers))

    def _spawn(self) -> None:
        from arq.worker import Worker, func

        assert self.settings.redis_url
        if self._closing:
            return
        functions = [
            # One more arq try than ours, so the row is marked failed by us, not left running.
            func(cast(Any, self._entry(kind)), name=kind, max_tries=self.settings.job_max_tries + 1)
            for kind in self.handlers
        ]
        self._worker = Worker(
            functions,
            queue_name=QUEUE_NAME,
            redis_settings=redis_settings(self.settings.redis_url),
            handle_signals=False,
            max_jobs=self.settings.worker_max_jobs,
            # Ours fires first (in _entry) so a timeout counts as a try, not as a final failure.
            job_timeout=self.settings.job_timeout_s + 60,
            keep_result=0,  # the row is the result; a finished id may be queued (and no-op) again
            poll_delay=0.2,
            # Read by `playground worker --check` (the liveness probe of compose and k8s).
            health_check_interval=HEALTH_INTERVAL_S,
            health_check_key=health_key(socket.gethostname()),
        )
        main = asyncio.create_task(self._worker.async_run(), name="queue-worker")
        main.add_done_callback(self._ended)
        self._tasks.append(main)

    def _ended(self, task: asyncio.Task[None]) -> None:
        # arq's loop ends at the first Redis error; a new one starts until Redis is back (jobs
        # still running finish; a job whose end was not recorded runs again and no-ops).
        self._tasks.remove(task)
        if self._closing or task.cancelled() or task.exception() is None:
            return
        log.warning("queue worker lost Redis (%s); starting again in 2 s", task.exception())
        self._lost.append(self._worker)  # its running jobs go on; close() cancels them
        asyncio.get_running_loop().call_later(2, self._spawn)

    async def stop_picking(self) -> None:
        """Take no new jobs (the running ones go on until the services stop them)."""
        self._stopping = True
        if self._worker is not None:
            self._worker.allow_pick_jobs = False

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            if task.get_name() == "queue-sweep":
                task.cancel()
        for lost in self._lost:
            lost.handle_sig(signal.SIGUSR1)  # cancels its jobs; their Redis is gone anyway
        if self._worker is not None:
            # Cancel what still runs (arq keeps those jobs queued), then let arq close; its own
            # gather would re-raise a cancelled job's CancelledError.
            jobs = [t for t in self._worker.tasks.values() if not t.done()]
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            self._worker.tasks.clear()
            await self._worker.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._hand_back()

    async def _hand_back(self) -> None:
        """Queue again, at once, the jobs this stopping worker interrupted (their rows are still
        active) so another worker takes them without waiting for a sweep or using up a try."""
        for kind, row_id in sorted(self._running):
            try:
                if row_id in await asyncio.to_thread(self.handlers[kind].active):
                    await self.queue.enqueue(kind, row_id)
                    log.info("handed back %s %s", kind, row_id)
            except Exception as exc:  # the sweep of another worker queues it later
                log.warning("could not hand back %s %s: %s", kind, row_id, exc)

    def _entry(self, kind: str) -> Callable[..., Awaitable[None]]:
        handler = self.handlers[kind]
        tries = self.settings.job_max_tries
        runner = self.runner

        async def run(ctx: dict[str, Any], row_id: str) -> None:
            from arq.worker import Retry

            if ctx["job_try"] > tries:
                log.warning("%s %s: given up after %d tries", kind, row_id, tries)
                handler.give_up(row_id, f"gave up after {tries} tries (worker lost or timed out)")
                return
            if ctx["job_try"] > 1 and handler.restart == "fail":
                log.warning("%s %s: interrupted, and its kind is not run again", kind, row_id)
                handler.give_up(row_id, "interrupted (its worker stopped or was lost)")
                return
            heartbeat = asyncio.create_task(self._heartbeat(ctx["redis"], ctx["job_id"]))
            self._running.add((kind, row_id))
            try:
                await asyncio.wait_for(runner.execute(kind, row_id), self.settings.job_timeout_s)
            except TimeoutError:
                log.warning("%s %s: try %d timed out", kind, row_id, ctx["job_try"])
                raise Retry(defer=1) from None
            finally:
                heartbeat.cancel()
                if not self._stopping:  # interrupted by the stop: handed back in close()
                    self._running.discard((kind, row_id))

        run.__qualname__ = kind
        return run

    async def _heartbeat(self, redis: Any, arq_job_id: str) -> None:
        from arq.constants import in_progress_key_prefix

        ttl_ms = int(self.settings.job_visibility_timeout_s * 1000)
        while True:
            try:
                await redis.pexpire(in_progress_key_prefix + arq_job_id, ttl_ms)
            except Exception as exc:
                log.warning("job heartbeat failed: %s", exc)
            await asyncio.sleep(self.settings.job_visibility_timeout_s / 3)

    async def _sweep(self) -> None:
        while True:
            for kind, handler in self.handlers.items():
                try:
                    for row_id in await asyncio.to_thread(handler.active):
                        if await self.queue.enqueue(kind, row_id):
                            log.info("queued %s %s (sweep)", kind, row_id)
                except Exception as exc:  # Redis or the database away: the next sweep retries
                    log.warning("job sweep of %s failed: %s", kind, exc)
            await asyncio.sleep(self.settings.job_visibility_timeout_s)
