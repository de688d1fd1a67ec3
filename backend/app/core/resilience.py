"""The one retry policy (tenacity) and the circuit breaker for calls to other servers: remote
OpenAI-compatible endpoints, vLLM, Ollama and model downloads all retry through
:func:`retry_policy`, on the errors :func:`is_transient` names.

Use them together::

    breaker = CircuitBreaker("ollama http://127.0.0.1:11434")
    data = await call_remote(breaker, lambda: client.get("/api/tags"))    # async
    data = call_remote_sync(breaker, lambda: client.get("/api/tags"))     # in a worker thread

A call is retried (exponential backoff with jitter, a few attempts) only on errors worth
retrying: connection failures, timeouts and the answers in ``RETRY_STATUSES`` (408, 429, 502,
503, 504). Each failed *call* (after its
retries) counts against the breaker; after ``failure_threshold`` consecutive failures it opens
and calls fail at once with :class:`BackendUnavailable` for ``reset_after_s``; then one trial
call is let through (half-open), and its success closes the breaker again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from app.core.errors import BackendUnavailable

T = TypeVar("T")

# The one set of retryable HTTP statuses: the server is overloaded, restarting or timed out.
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


class TransientError(Exception):
    """A failure worth retrying, raised by callers that read statuses themselves (e.g. a
    streamed response opened by hand, a download whose next attempt resumes)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure that may go away on its own (worth a retry)."""
    if isinstance(exc, (TransientError, httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRY_STATUSES
    # Client libraries' own errors with an HTTP status (e.g. ollama.ResponseError).
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and status in RETRY_STATUSES


def retry_policy(
    attempts: int,
    *,
    max_wait_s: float = 2.0,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for tenacity's ``Retrying``/``AsyncRetrying``: retry transient errors
    up to ``attempts`` tries in all, exponential backoff with jitter, the last error re-raised.
    ``sleep`` replaces the backoff wait (e.g. a cancel event's ``wait``)."""

    def before_sleep(_: RetryCallState) -> None:
        if on_retry is not None:
            on_retry()

    kwargs: dict[str, Any] = {
        "retry": retry_if_exception(is_transient),
        "stop": stop_after_attempt(max(1, attempts)),
        "wait": wait_exponential_jitter(initial=0.2, max=max_wait_s),
        "before_sleep": before_sleep,
        "reraise": True,
    }
    if sleep is not None:
        kwargs["sleep"] = sleep
    return kwargs


class CircuitBreaker:
    """Closed -> open after consecutive failures -> half-open after a pause -> closed."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 3,
        reset_after_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started: float | None = None
        self._lock = threading.Lock()
        self.retries = 0  # calls retried through this breaker (services/metrics exports it)

    @property
    def is_open(self) -> bool:
        """Open or half-open: failures opened it and no success closed it since."""
        return self._opened_at is not None

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_after_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise :class:`BackendUnavailable` while open (or while a half-open trial runs)."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            # One trial at a time; a trial whose outcome never came (abandoned) expires.
            now = self._clock()
            trial_free = (
                self._trial_started is None or now - self._trial_started >= self.reset_after_s
            )
            if state == "half_open" and trial_free:
                self._trial_started = now
                return
            assert self._opened_at is not None
            wait = max(0.0, self.reset_after_s - (self._clock() - self._opened_at))
        raise BackendUnavailable(
            f"{self.name} is unreachable (circuit open after {self.failure_threshold} failed "
            f"calls); next try in {wait:.0f} s.",
            code="circuit_open",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_started = None

    def record_outcome(self, exc: BaseException) -> None:
        """Count a call that ended in ``exc``: transient errors are failures; an error answer
        from the remote proves it is up; a cancelled call proves nothing."""
        if is_transient(exc):
            self.record_failure()
        elif isinstance(exc, Exception):
            self.record_success()
        else:
            with self._lock:
                self._trial_started = None

    def record_failure(self) -> None:
        with self._lock:
            self._trial_started = None
            self._failures += 1
            if self._opened_at is not None or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()  # (re)open: a failed trial restarts the pause


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(
    name: str, *, failure_threshold: int = 3, reset_after_s: float = 10.0
) -> CircuitBreaker:
    """The process-wide breaker of one remote server (by name, e.g. its URL): every model
    served from that server shares it, so one outage opens it for all."""
    with _breakers_lock:
        breaker = _breakers.get(name)
        if breaker is None:
            breaker = _breakers[name] = CircuitBreaker(
                name, failure_threshold=failure_threshold, reset_after_s=reset_after_s
            )
        return breaker


def all_breakers() -> list[CircuitBreaker]:
    """Every breaker made so far (for metrics)."""
    with _breakers_lock:
        return list(_breakers.values())


def _retry_kwargs(breaker: CircuitBreaker, attempts: int, max_wait_s: float) -> dict[str, Any]:
    def count_retry() -> None:
        breaker.retries += 1

    return retry_policy(attempts, max_wait_s=max_wait_s, on_retry=count_retry)


async def call_remote(
    breaker: CircuitBreaker,
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    max_wait_s: float = 2.0,
) -> T:
    """Run ``call`` through the breaker with retries; its last error if all attempts fail."""
    breaker.before_call()
    try:
        async for attempt in AsyncRetrying(**_retry_kwargs(breaker, attempts, max_wait_s)):
            with attempt:
                result = await call()
    except BaseException as exc:
        breaker.record_outcome(exc)
        raise
    breaker.record_success()
    return result


def call_remote_sync(
    breaker: CircuitBreaker,
    call: Callable[[], T],
    *,
    attempts: int = 3,
    max_wait_s: float = 2.0,
) -> T:
    """Blocking twin of :func:`call_remote`, for backends that run in worker threads."""
    breaker.before_call()
    try:
        for attempt in Retrying(**_retry_kwargs(breaker, attempts, max_wait_s)):
            with attempt:
                result = call()
    except BaseException as exc:
        breaker.record_outcome(exc)
        raise
    breaker.record_success()
    return result
