"""The two job runners: in this process, or on the Redis queue. Chosen once at start-up.

Both run a job the same way (:meth:`JobRunner.execute`): a context with a cancel flag, a
watch that sets the flag when the job's row says stop, the kind's concurrency limit, and a
give-up when the job raises. They differ only in where a submitted job goes:

* :class:`InProcessRunner` (no ``MP_REDIS_URL``) runs it as a task of this process, and at
  start-up resumes (or gives up, by the kind's restart policy) every job its rows still show
  active, since no one else will.
* :class:`QueueRunner` puts it on the arq queue; a :class:`~app.services.jobs.worker.QueueWorker`
  (in this process or another) calls :meth:`JobRunner.execute` for it, and its sweep queues
  active rows again, so nothing is resumed at start-up here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from app.services.jobs.events import EventBus, LocalEventBus
from app.services.jobs.kind import JobContext, JobKind, job_topic
from app.services.jobs.queue import JobQueue

log = logging.getLogger(__name__)

T = TypeVar("T")

WATCH_S = 0.5  # how often a running job's row is read for a cancel from elsewhere
STOP_WAIT_S = 10.0  # how long a stopping process lets its jobs reach a step boundary


class JobRunner:
    """Runs the jobs of the kinds registered with it; services hold one and never ask which."""

    # True when other processes may run this runner's jobs (they share folders and rows).
    shared = False

    def __init__(self, bus: EventBus | None = None) -> None:
        self.bus = bus or LocalEventBus()
        self.kinds: dict[str, JobKind] = {}
        self._contexts: dict[tuple[str, str], JobContext] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._submitting: set[asyncio.Task[None]] = set()
        self._stopping = False

    def register(self, kind: JobKind) -> None:
        """Add a kind; register every kind before :meth:`start`, so interrupted jobs resume."""
        if kind.name in self.kinds:
            raise ValueError(f"job kind {kind.name!r} is registered twice")
        self.kinds[kind.name] = kind
        if kind.concurrency is not None:
            self._slots[kind.name] = asyncio.Semaphore(kind.concurrency)

    async def start(self, resume: bool = True) -> None:
        """Pick up what a previous process left (the in-process runner only)."""

    async def submit(self, kind: str, row_id: str) -> None:
        """Run the job whose row was just stored (or set active again). Never raises for a
        job that could not be handed on now: its row is active, so it runs later."""
        raise NotImplementedError

    def submit_soon(self, kind: str, row_id: str) -> None:
        """:meth:`submit` from synchronous code on the event loop."""
        task = asyncio.get_running_loop().create_task(self.submit(kind, row_id))
        self._submitting.add(task)
        task.add_done_callback(self._submitting.discard)

    def running_here(self, kind: str, row_id: str) -> bool:
        return (kind, row_id) in self._contexts

    def publish(self, kind: str, row_id: str, event: dict[str, Any]) -> None:
        """A progress event of a job, sent by its service outside a run (a cancel, a delete)."""
        self.bus.publish(job_topic(kind, row_id), event)

    def signal(self, kind: str, row_id: str) -> None:
        """Set the job's cancel flag if it runs in this process, without waiting."""
        ctx = self._contexts.get((kind, row_id))
        if ctx is not None:
            ctx.cancel.set()

    async def follow(
        self,
        kind: str,
        row_id: str,
        read: Callable[[], T | None],
        parse: Callable[[dict[str, Any]], T],
        ended: Callable[[T], bool],
        quiet_s: float = 2.0,
    ) -> AsyncIterator[T]:
        """A job's states as they change, from whichever process runs it: the row now, then
        each published event (``parse`` turns one into a state), ending with the first state
        ``ended`` accepts, or when ``read`` finds no row. The row is read again when nothing
        arrives for ``quiet_s``: events are hints, the row is the record (a message lost with
        a Redis reconnect delays a follower, never ends it early)."""
        # Subscribed before the first read, so no step between the two is missed.
        subscription = await self.bus.subscribe(job_topic(kind, row_id))
        try:
            current = read()
            if current is None:
                return
            yield current
            while not ended(current):
                data = await subscription.get(timeout=quiet_s)
                if data is not None:
                    latest: T | None = parse(data)
                else:
                    latest = read()
                    if latest is None:  # deleted meanwhile
                        return
                    if latest == current:
                        continue
                assert latest is not None
                current = latest
                yield current
        finally:
            await subscription.close()

    async def cancel(self, kind: str, row_id: str, timeout: float = 30.0) -> None:
        """Stop the job if it runs in this process and wait (bounded) for it to end. A job
        running elsewhere stops through its row: the caller changes the row first."""
        self.signal(kind, row_id)
        await self.wait(kind, row_id, timeout)

    async def wait(self, kind: str, row_id: str, timeout: float | None = None) -> None:
        """Wait until the job's run in this process (if any) ends."""
        task = self._tasks.get((kind, row_id))
        if task is not None:
            await asyncio.wait([task], timeout=timeout)

    async def execute(self, kind_name: str, row_id: str) -> None:
        """Run one job here to its end (or until cancelled); what both runners call."""
        kind = self.kinds[kind_name]
        key = (kind_name, row_id)
        if key in self._contexts:
            return  # already running here (a duplicate delivery)
        loop = asyncio.get_running_loop()
        ctx = JobContext(kind_name, row_id, self.bus, loop, cancel=kind.cancel_flag())
        ctx.stopping = self._stopping
        if self._stopping:
            ctx.cancel.set()
        self._contexts[key] = ctx
        current = asyncio.current_task()
        if current is not None:
            self._tasks.setdefault(key, current)
        watch = asyncio.create_task(self._watch(kind, ctx), name=f"watch-{kind_name}-{row_id}")
        try:
            async with self._slots.get(kind_name) or contextlib.nullcontext():
                await kind.run(row_id, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # services record the failures they expect; this is a bug
            log.exception("%s job %s failed", kind_name, row_id)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(kind.give_up, row_id, f"{type(exc).__name__}: {exc}")
        finally:
            watch.cancel()
            self._contexts.pop(key, None)
            if self._tasks.get(key) is current:
                self._tasks.pop(key, None)

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _watch(self, kind: JobKind, ctx: JobContext) -> None:
        should_stop = kind.stop_check()
        while not ctx.cancel.is_set():
            await asyncio.sleep(WATCH_S)
            try:
                if await asyncio.to_thread(should_stop, ctx.row_id):
                    ctx.cancel.set()
            except Exception as exc:  # the database away: look again at the next tick
                log.warning("%s job %s: row check failed: %s", ctx.kind, ctx.row_id, exc)

    async def shutdown(self, timeout: float = STOP_WAIT_S) -> None:
        """Stop every job running here at its next step; their rows stay active."""
        self._stopping = True
        for ctx in list(self._contexts.values()):
            ctx.stopping = True
            ctx.cancel.set()
        if self._submitting:
            await asyncio.gather(*self._submitting, return_exceptions=True)
        tasks = [t for t in self._tasks.values() if not t.done()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class InProcessRunner(JobRunner):
    """Jobs run as tasks of this process (the embedded default)."""

    async def start(self, resume: bool = True) -> None:
        if not resume:
            return
        for kind in self.kinds.values():
            for row_id in list(await asyncio.to_thread(kind.active)):
                if kind.restart == "resume":
                    log.info("resuming %s job %s", kind.name, row_id)
                    await self.submit(kind.name, row_id)
                else:
                    log.info("%s job %s was interrupted by a restart; failed", kind.name, row_id)
                    kind.give_up(row_id, "interrupted by a server restart")

    async def submit(self, kind: str, row_id: str) -> None:
        key = (kind, row_id)
        if key in self._tasks or key in self._contexts:
            return  # queued or running here already (the same as a deterministic queue id)
        task = asyncio.create_task(self.execute(kind, row_id), name=f"{kind}-{row_id[:12]}")
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))


class QueueRunner(JobRunner):
    """Jobs go to the Redis queue; workers run them (``MP_REDIS_URL``)."""

    shared = True

    def __init__(self, queue: JobQueue, bus: EventBus | None = None) -> None:
        super().__init__(bus)
        self.queue = queue

    async def submit(self, kind: str, row_id: str) -> None:
        try:
            await self.queue.enqueue(kind, row_id)
        except Exception:  # stored: the workers' sweep of active rows queues it
            log.exception("%s job %s not queued now; the sweep will", kind, row_id)


def build_runner(queue: JobQueue | None, bus: EventBus | None) -> JobRunner:
    return QueueRunner(queue, bus) if queue is not None else InProcessRunner(bus)


class RunsJobs:
    """Mixin of a service with background jobs: it registers its kinds with the app's runner,
    or, built without one (``playground pull``, scripts, unit tests), runs an in-process
    runner of its own that it starts and stops with itself."""

    runner: JobRunner
    _owns_runner: bool

    def use_runner(self, runner: JobRunner | None, *kinds: JobKind) -> None:
        self._owns_runner = runner is None
        self.runner = runner or InProcessRunner()
        for kind in kinds:
            self.runner.register(kind)

    async def start_own_runner(self, resume: bool = True) -> None:
        """Resume what a previous process left (only with a runner of its own: the app's
        runner does that for every kind at once)."""
        if self._owns_runner:
            await self.runner.start(resume)

    async def stop_own_runner(self) -> None:
        if self._owns_runner:
            await self.runner.shutdown()
