"""Background jobs beyond one process: the progress event bus, the Redis job queue (arq) and
the queue worker. Without ``MP_REDIS_URL`` only the in-process event bus is used."""

from app.services.jobs.events import EventBus, LocalEventBus, RedisEventBus, build_event_bus
from app.services.jobs.queue import JobQueue
from app.services.jobs.worker import JobHandler, QueueWorker

__all__ = [
    "EventBus",
    "JobHandler",
    "JobQueue",
    "LocalEventBus",
    "QueueWorker",
    "RedisEventBus",
    "build_event_bus",
]
