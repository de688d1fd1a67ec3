"""Rate limits and generation caps shared by every replica, counted in Redis (``MP_REDIS_URL``).

- :class:`RedisRateLimiter`: requests per minute per identity with the ``limits`` library's
  moving-window strategy on its Redis storage (an atomic Lua script per hit), so 20/min means
  20 in any 60 s across all replicas.
- :class:`RedisAdmission`: the per-model queue cap and per-key concurrency cap. Each admitted
  generation is a member of a sorted set per model (and per key) scored by its lease expiry;
  one Lua script drops expired members, checks both caps and adds the ticket atomically. The
  ``limits`` library counts events in windows and has no notion of a place held until released,
  hence the script. A replica renews its tickets' leases every third of ``MP_REDIS_LEASE_S``,
  so the places of a replica that died are freed when its leases run out.

When Redis cannot be reached while serving, both fall back to this process's own counters
(the same limits, per replica) and count it in ``mp_shared_limits_fallback_total``: generation
keeps working, and the next check after a short pause tries Redis again, so a Redis restart
needs no server restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from typing import Any

from app.core.config import Settings
from app.core.errors import Overloaded
from app.core.redact import redact_url
from app.services import metrics
from app.services.generation.limits import Admission, RateLimiter, Ticket

log = logging.getLogger(__name__)

# After a failed call, skip Redis this long (each failed call costs a connect timeout).
_RETRY_AFTER_FAILURE_S = 2.0
_TIMEOUT_S = 0.5

_ADMIT = """
local now, expiry, ticket = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local max_model, max_identity = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max_model then return {1, redis.call('ZCARD', KEYS[1])} end
if max_identity > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= max_identity then return {2, 0} end
  redis.call('ZADD', KEYS[2], expiry, ticket)
  redis.call('EXPIRE', KEYS[2], math.ceil(expiry - now) + 1)
end
redis.call('ZADD', KEYS[1], expiry, ticket)
redis.call('EXPIRE', KEYS[1], math.ceil(expiry - now) + 1)
return {0, redis.call('ZCARD', KEYS[1])}
"""


class RedisUnavailable(RuntimeError):
    """Redis could not be reached at start-up; the message names the (redacted) URL."""


class _Circuit:
    """Skips Redis for a moment after a failure, and logs each outage once."""

    def __init__(self, url: str) -> None:
        self.url = redact_url(url)
        self._down_until = 0.0
        self._down = False

    def open(self) -> bool:
        return time.monotonic() < self._down_until

    def failed(self, what: str, exc: BaseException) -> None:
        self._down_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
        metrics.SHARED_LIMITS_FALLBACK.labels(what).inc()
        if not self._down:
            self._down = True
            log.warning(
                "Redis at %s unreachable (%s); limits are counted per replica until it is back",
                self.url,
                exc,
            )

    def succeeded(self) -> None:
        if self._down:
            self._down = False
            log.warning("Redis at %s is back; limits are shared again", self.url)


def _client(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(
        url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S
    )


async def check_redis(url: str) -> None:
    """Raise :class:`RedisUnavailable` (naming the URL) unless Redis answers a PING."""
    client = _client(url)
    try:
        await client.ping()
    except Exception as exc:
        raise RedisUnavailable(
            f"Redis at {redact_url(url)} (MP_REDIS_URL) is not reachable: {exc}"
        ) from exc
    finally:
        await client.aclose()


class RedisRateLimiter(RateLimiter):
    """Per-identity requests per minute counted in Redis (moving window), shared by replicas."""

    def __init__(self, url: str, per_minute: int) -> None:
        super().__init__(per_minute)
        from limits import RateLimitItemPerMinute
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        scheme, rest = url.split("://", 1)
        self._storage = RedisStorage(
            f"async+{scheme}://{rest}",
            implementation="redispy",
            key_prefix="mp-rate",
            socket_timeout=_TIMEOUT_S,
            socket_connect_timeout=_TIMEOUT_S,
        )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._item = RateLimitItemPerMinute(per_minute)
        self._circuit = _Circuit(url)

    async def acquire(self, identity: str) -> None:
        if not self.enabled:
            return
        if self._circuit.open():
            return self.check(identity)
        try:
            allowed = await self._strategy.hit(self._item, identity)
            stats = None if allowed else await self._strategy.get_window_stats(self._item, identity)
        except Exception as exc:  # any Redis or connection error: count here instead
            self._circuit.failed("rate_limit", exc)
            return self.check(identity)
        self._circuit.succeeded()
        if stats is not None:
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            metrics.REJECTED.labels("rate_limit").inc()
            raise Overloaded(
                f"Rate limit of {self.per_minute} requests per minute reached. Retry in {wait} s.",
                retry_after_s=wait,
            )


class RedisAdmission(Admission):
    """Generation caps counted in Redis across replicas; this replica's own counts (``depth``,
    ``total``, what the batch runner yields to) stay local."""

    def __init__(self, settings: Settings, url: str) -> None:
        super().__init__(settings)
        self._redis = _client(url)
        self._admit_script = self._redis.register_script(_ADMIT)
        self._lease_s = settings.redis_lease_s
        self._circuit = _Circuit(url)
        self._live: dict[str, tuple[Ticket, list[str]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def _keys(model: str, identity: str | None) -> list[str]:
        return [f"mp-admit:model:{model}", f"mp-admit:key:{identity or '-'}"]

    async def acquire(self, model: str, identity: str | None) -> Ticket:
        ticket = self.admit(model, identity)  # this replica's caps and counts first
        if self._circuit.open():
            return ticket
        self._start()
        keys = self._keys(model, identity)
        member = uuid.uuid4().hex
        now = time.time()
        per_identity = self.max_per_identity if identity is not None else 0
        try:
            code, depth = await self._admit_script(
                keys=keys,
                args=[now, now + self._lease_s, member, self.max_per_model, per_identity],
            )
        except Exception as exc:
            self._circuit.failed("admission", exc)
            return ticket
        self._circuit.succeeded()
        if code != 0:
            ticket.release()
            reason = "queue_full" if code == 1 else "concurrency"
            metrics.REJECTED.labels(reason).inc()
            raise Overloaded(
                f"Model '{model}' has {depth} generations queued or running on all replicas, "
                "the most this server accepts (max_queue_per_model). Retry shortly."
                if code == 1
                else f"This key already runs {self.max_per_identity} generations at once across "
                "replicas, its limit. Wait for one to finish.",
                retry_after_s=1,
            )
        ticket.shared_member = member
        self._live[member] = (ticket, keys)
        return ticket

    def _release(self, ticket: Ticket) -> None:
        super()._release(ticket)
        member = ticket.shared_member
        if member is None or self._live.pop(member, None) is None or self._loop is None:
            return
        keys = self._keys(ticket.model, ticket.identity)
        # Release may run on any thread (a finalizer); Redis calls happen on the loop. If they
        # fail, or the loop is closed, the lease frees the place.
        loop = self._loop
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._spawn, member, keys)

    def _spawn(self, member: str, keys: list[str]) -> None:
        task = asyncio.get_running_loop().create_task(self._forget(member, keys))
        self._tasks.add(task)  # a task nobody references may be collected before it runs
        task.add_done_callback(self._tasks.discard)

    async def _forget(self, member: str, keys: list[str]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, member)
                await pipe.execute()
        except Exception as exc:
            self._circuit.failed("admission_release", exc)

    def _start(self) -> None:
        if self._renewer is None:
            self._loop = asyncio.get_running_loop()
            self._renewer = self._loop.create_task(self._renew())

    async def _renew(self) -> None:
        """Push the lease of every live ticket forward, every third of the lease."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            if not self._live:
                continue
            expiry = time.time() + self._lease_s
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for member, (_, keys) in list(self._live.items()):
                        for key in keys:
                            pipe.zadd(key, {member: expiry}, xx=True)
                    await pipe.execute()
            except Exception as exc:
                self._circuit.failed("admission_renew", exc)

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
        await asyncio.sleep(0)  # releases queued from other threads get scheduled
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        await self._redis.aclose()
