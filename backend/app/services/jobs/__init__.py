"""Background jobs: one framework for every kind (downloads, ingestion, batches, RAG
evaluations). A kind declares how to run one job (:class:`JobKind`); a runner, chosen once at
start-up, runs them in this process or on the Redis queue (arq) with a worker, and carries
progress events on the event bus. See docs/jobs.md."""

from app.services.jobs.events import EventBus, LocalEventBus, RedisEventBus, build_event_bus
from app.services.jobs.kind import JobContext, JobKind, job_topic
from app.services.jobs.queue import JobQueue
from app.services.jobs.runner import (
    InProcessRunner,
    JobRunner,
    QueueRunner,
    RunsJobs,
    build_runner,
)
from app.services.jobs.worker import QueueWorker

__all__ = [
    "EventBus",
    "InProcessRunner",
    "JobContext",
    "JobKind",
    "JobQueue",
    "JobRunner",
    "LocalEventBus",
    "QueueRunner",
    "QueueWorker",
    "RedisEventBus",
    "RunsJobs",
    "build_event_bus",
    "build_runner",
    "job_topic",
]
