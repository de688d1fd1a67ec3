"""Background jobs on a Redis queue (arq), for deployments with ``MP_REDIS_URL``.

Why arq: it is asyncio-native like our services (a job is a coroutine on the worker's loop, so
ingestion and batches run there unchanged), needs nothing but Redis, and has what a job queue
must: bounded retries, job timeouts, unique job ids, and at-least-once delivery -- a job stays
in the queue until it finishes, and a claimed job is only skipped while its in-progress key
lives, so the job of a worker that died is run again once that key expires (our visibility
timeout). RQ forks a process per job and is synchronous; taskiq needs a broker, a result
backend and a scheduler wired together for the same guarantees.

Delivery is at least once, so every job is idempotent and the job row in the database stays
the record of its state: a job function first checks that its row is still active, and a row
moves to a final state only through a conditional update (``... WHERE status = 'running'``),
so a job that runs twice is marked done once. Job ids are deterministic (``kind:row id``), so
enqueueing the same job twice, or again from the periodic sweep, queues it once.

Without ``MP_REDIS_URL`` none of this is used: jobs run as tasks in the server process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.core.config import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "mp:jobs"
# How often a worker writes its health key; the key lives one second longer, so a worker whose
# loop is stuck (or gone) fails ``playground worker --check`` within this many seconds.
HEALTH_INTERVAL_S = 10


def health_key(host: str) -> str:
    """The Redis key a worker on ``host`` writes while its loop runs (one per host: a pod or a
    container runs one worker, and a probe runs on the same host as the worker it checks)."""
    return f"{QUEUE_NAME}:health:{host}"


def job_id(kind: str, row_id: str) -> str:
    return f"{kind}:{row_id}"


def redis_settings(url: str) -> Any:
    from arq.connections import RedisSettings

    return RedisSettings.from_dsn(url)


def live_workers(url: str) -> int | None:
    """How many hosts have a queue worker whose health key is in Redis now; None when Redis
    does not answer (blocking, short timeouts: call it from a worker thread)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return sum(1 for _ in client.scan_iter(match=health_key("*"), count=100))
    except redis.RedisError:
        return None
    finally:
        client.close()


class JobQueue:
    """Enqueues jobs by kind and row id; a job already queued or running is not queued again."""

    def __init__(self, settings: Settings, pool: Any) -> None:
        self.settings = settings
        self.pool = pool
        self._pending: set[asyncio.Task[Any]] = set()

    @classmethod
    async def connect(cls, settings: Settings) -> JobQueue:
        from arq import create_pool

        assert settings.redis_url
        return cls(settings, await create_pool(redis_settings(settings.redis_url)))

    async def enqueue(self, kind: str, row_id: str) -> bool:
        """Queue ``kind`` for ``row_id``; False when that job is already queued or running."""
        # Longer than every try could take, so a queued job never expires unstarted.
        expires = self.settings.job_timeout_s * self.settings.job_max_tries + 86400
        job = await self.pool.enqueue_job(
            kind, row_id, _job_id=job_id(kind, row_id), _queue_name=QUEUE_NAME, _expires=expires
        )
        return job is not None

    def enqueue_soon(self, kind: str, row_id: str) -> None:
        """Queue from synchronous code on the event loop. A failure is logged; the workers'
        sweep of active rows queues the job later anyway."""

        async def send() -> None:
            try:
                await self.enqueue(kind, row_id)
            except Exception:
                log.exception("could not queue %s %s; the next sweep will", kind, row_id)

        task = asyncio.get_running_loop().create_task(send())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.pool.aclose()
