"""What a kind of background job declares, and the context one run of it gets.

A service that has background work (downloads, ingestion, batches, RAG evaluations) describes
it as a :class:`JobKind`: its name, how to run one job (named by the id of the database row
that records it) with a :class:`JobContext`, which rows are still active, when a running job
must stop, how to give one up, and what a restart does with a job it interrupted. The runner
(:mod:`app.services.jobs.runner`) owns everything else: the tasks, resuming at start-up, the
Redis queue, cancellation, the sweep and progress events. A service never asks which runner
it has.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.services.jobs.events import EventBus

RestartPolicy = Literal["resume", "fail"]


def job_topic(kind: str, row_id: str) -> str:
    """The event-bus topic of one job's progress events."""
    return f"job:{kind}:{row_id}"


@dataclass
class JobContext:
    """One run of one job. ``cancel`` is a thread-safe flag the job checks between steps (its
    worker threads too): it is set when the job is cancelled in this process, when its row
    says it must stop (``JobKind.should_stop``: a cancel or delete on any replica), and when
    the process stops. ``stopping`` tells the last case apart: the job then leaves its row
    active, so the next start (or another worker) resumes it."""

    kind: str
    row_id: str
    bus: EventBus
    loop: asyncio.AbstractEventLoop
    cancel: threading.Event = field(default_factory=threading.Event)
    stopping: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def publish(self, event: dict[str, Any]) -> None:
        """Send a progress event to the job's followers, in any process. Callable from the
        event loop and from worker threads."""
        topic = job_topic(self.kind, self.row_id)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.bus.publish(topic, event)
        else:
            self.loop.call_soon_threadsafe(self.bus.publish, topic, event)

    async def wait_cancelled(self, poll_s: float = 0.05) -> None:
        """Return once the job is cancelled (for jobs that run async tasks, not threads)."""
        while not self.cancel.is_set():
            await asyncio.sleep(poll_s)


@dataclass(frozen=True)
class JobKind:
    """How the runner runs one kind of job.

    ``run`` must be idempotent: it is called again for a job a restart or a dead worker
    interrupted (with ``restart="resume"``), and it returns once the row is final, or early
    when ``ctx.cancel`` is set. Failures it expects it records on the row itself; an exception
    that escapes it is a bug, logged, and the row is given up with its message."""

    name: str
    run: Callable[[str, JobContext], Awaitable[None]]
    active: Callable[[], Sequence[str]]  # row ids queued or running in the database
    give_up: Callable[[str, str], None]  # mark the row failed with a reason (and clean up)
    # The row says the running job must stop (cancelled or deleted, perhaps on another
    # replica); polled while the job runs. Default: the row is no longer active.
    should_stop: Callable[[str], bool] | None = None
    restart: RestartPolicy = "resume"  # "fail": an interrupted job is given up, not rerun
    concurrency: int | None = None  # jobs of this kind running at once in one process
    # The cancel flag's type: a kind whose threads block on I/O may give a flag that also
    # interrupts that I/O when set (downloads shut their socket down).
    cancel_flag: Callable[[], threading.Event] = threading.Event

    def stop_check(self) -> Callable[[str], bool]:
        if self.should_stop is not None:
            return self.should_stop
        active = self.active
        return lambda row_id: row_id not in active()
