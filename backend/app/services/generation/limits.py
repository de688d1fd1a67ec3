"""Request rate limits and generation admission control.

Both refuse with :class:`Overloaded` (429 + Retry-After) instead of letting work pile up:

- :class:`RateLimiter`: requests per minute per identity (a token bucket refilled continuously).
- :class:`Admission`: generations queued or running per model (the queue cap, like
  ``OLLAMA_MAX_QUEUE``) and per identity (concurrent generations per key). A generation holds a
  :class:`Ticket` from admission to the end of its stream.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from app.core.config import SecuritySettings
from app.core.errors import ContextLengthExceeded, Overloaded
from app.services import metrics


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per identity: ``per_minute`` requests, refilled evenly over the minute."""

    # Idle buckets are dropped so one-off clients do not accumulate forever.
    _SWEEP_EVERY = 1024

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._calls = 0

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    async def acquire(self, identity: str) -> None:
        """:meth:`check` for callers on the event loop (the Redis limiter awaits Redis here)."""
        self.check(identity)

    def check(self, identity: str) -> None:
        """Take one request from ``identity``'s bucket or raise :class:`Overloaded`."""
        if not self.enabled:
            return
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            self._calls += 1
            if self._calls % self._SWEEP_EVERY == 0:
                self._sweep(now)
            bucket = self._buckets.get(identity)
            if bucket is None:
                bucket = self._buckets[identity] = _Bucket(float(self.per_minute), now)
            bucket.tokens = min(self.per_minute, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = math.ceil((1.0 - bucket.tokens) / rate)
        metrics.REJECTED.labels("rate_limit").inc()
        raise Overloaded(
            f"Rate limit of {self.per_minute} requests per minute reached. Retry in {wait} s.",
            retry_after_s=max(1, wait),
        )

    def _sweep(self, now: float) -> None:
        full_after = 60.0
        for key in [k for k, b in self._buckets.items() if now - b.updated > full_after]:
            del self._buckets[key]


def check_input_chars(texts: list[str], tokens: int, chars_per_token: int) -> None:
    """Refuse, before any tokenizing, an input that cannot fit ``tokens`` tokens at the
    server's ``chars_per_token`` (:class:`ContextLengthExceeded`, 400)."""
    limit = max(tokens, 1) * chars_per_token
    for i, text in enumerate(texts):
        if len(text) > limit:
            raise ContextLengthExceeded(
                f"input[{i}] has {len(text)} characters; this model reads at most {tokens} "
                f"tokens, at most {limit} characters (MP_PROMPT_CHARS_PER_TOKEN="
                f"{chars_per_token}). Split the text into smaller pieces.",
                param="input",
            )


class LoginFailureLimiter:
    """Failed logins per client address: ``per_minute`` failures (a bucket refilled evenly);
    while a client's bucket is empty every login attempt from it is refused with 429, so keys
    cannot be guessed at network speed. Successful logins cost nothing."""

    def __init__(self, per_minute: int) -> None:
        self._buckets = RateLimiter(per_minute)

    def check(self, client: str) -> None:
        """Raise :class:`Overloaded` when ``client`` has used up its failures."""
        limiter = self._buckets
        with limiter._lock:
            bucket = limiter._buckets.get(client)
            if bucket is None:
                return
            rate = limiter.per_minute / 60.0
            now = time.monotonic()
            tokens = min(limiter.per_minute, bucket.tokens + (now - bucket.updated) * rate)
            if tokens >= 1.0:
                return
            wait = math.ceil((1.0 - tokens) / rate)
        metrics.REJECTED.labels("login_failures").inc()
        raise Overloaded(
            f"Too many failed logins from this address; retry in {wait} s.",
            retry_after_s=max(1, wait),
        )

    def failed(self, client: str) -> None:
        """Count one failed login of ``client``."""
        limiter = self._buckets
        now = time.monotonic()
        with limiter._lock:
            bucket = limiter._buckets.setdefault(client, _Bucket(float(limiter.per_minute), now))
            rate = limiter.per_minute / 60.0
            bucket.tokens = min(limiter.per_minute, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            bucket.tokens = max(bucket.tokens - 1.0, 0.0)


class Ticket:
    """An admitted generation; :meth:`release` (idempotent) frees its places."""

    def __init__(self, admission: Admission, model: str, identity: str | None) -> None:
        self._admission = admission
        self.model = model
        self.identity = identity
        self.shared_member: str | None = None  # its member in Redis, when caps are shared
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._admission._release(self)


class Admission:
    """Counts generations per model and per identity; refuses past the configured caps."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.max_per_model = settings.max_queue_per_model
        self.max_per_identity = settings.max_concurrent_generations_per_key
        self._per_model: dict[str, int] = {}
        self._per_identity: dict[str, int] = {}
        self._lock = threading.Lock()

    def depth(self, model: str) -> int:
        return self._per_model.get(model, 0)

    def total(self) -> int:
        return sum(self._per_model.values())

    async def acquire(self, model: str, identity: str | None) -> Ticket:
        """:meth:`admit` for callers on the event loop (the Redis admission awaits Redis)."""
        return self.admit(model, identity)

    async def close(self) -> None:
        """Release what the admission holds outside this process (nothing here)."""

    def admit(self, model: str, identity: str | None) -> Ticket:
        """A ticket for one more generation on ``model``, or :class:`Overloaded`."""
        with self._lock:
            depth = self._per_model.get(model, 0)
            if depth >= self.max_per_model:
                reason, message = (
                    "queue_full",
                    (
                        f"Model '{model}' has {depth} generations queued or running, the most this "
                        "server accepts (max_queue_per_model). Retry shortly."
                    ),
                )
            elif (
                identity is not None
                and self.max_per_identity > 0
                and self._per_identity.get(identity, 0) >= self.max_per_identity
            ):
                reason, message = (
                    "concurrency",
                    (
                        f"This key already runs {self.max_per_identity} generations at once, its "
                        "limit. Wait for one to finish."
                    ),
                )
            else:
                self._per_model[model] = depth + 1
                if identity is not None:
                    self._per_identity[identity] = self._per_identity.get(identity, 0) + 1
                metrics.QUEUE_DEPTH.labels(model).set(depth + 1)
                return Ticket(self, model, identity)
        metrics.REJECTED.labels(reason).inc()
        raise Overloaded(message, retry_after_s=1)

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            left = self._per_model.get(ticket.model, 1) - 1
            if left > 0:
                self._per_model[ticket.model] = left
            else:
                self._per_model.pop(ticket.model, None)
            metrics.QUEUE_DEPTH.labels(ticket.model).set(max(left, 0))
            if ticket.identity is not None:
                count = self._per_identity.get(ticket.identity, 1) - 1
                if count > 0:
                    self._per_identity[ticket.identity] = count
                else:
                    self._per_identity.pop(ticket.identity, None)
