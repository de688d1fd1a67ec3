"""Several replicas of one OpenAI-compatible server behind one model name.

A remote endpoint may list several base URLs (``MP_REMOTE_ENDPOINTS``, ``urls``), e.g. vLLM
servers started as data-parallel replicas on different nodes. Each request goes to the replica
with the fewest requests in flight (ties rotate, so an idle pool is served round robin). Each
replica has its own :class:`~app.core.resilience.CircuitBreaker` (keyed by its URL): after
``MP_REMOTE_BREAKER_FAILURES`` failed calls it is skipped, and after
``MP_REMOTE_BREAKER_RESET_S`` one request is let through as a trial that puts it back on success.
A replica that fails *before the first token* (unreachable, 5xx after the retries, circuit open)
hands the request to the next replica, so a dead replica costs a request a short delay, not an
error; once tokens flow, a failure ends the request (replaying it would repeat text).

Hand-written rather than a load-balancing library: the choice needs per-request in-flight
counts and the breaker state of this process, which a proxy in front (nginx, a k8s Service)
cannot see, and it is a few lines over the breaker and tenacity retries already used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from app.backends.base import GenerationRequest, TokenEvent
from app.backends.http.openai_client import OpenAIStream
from app.core.errors import AppError, BackendUnavailable, GenerationFailed
from app.core.redact import redact


@dataclass(frozen=True)
class ReplicaState:
    """What GET /api/v1/models/loaded shows of one replica."""

    url: str
    in_flight: int
    requests_total: int
    failures_total: int
    breaker_state: str
    last_error: str | None
    last_error_at: float | None


class Replica:
    """One base URL of a pool: its stream client (with its own breaker) and counters."""

    def __init__(self, streamer: OpenAIStream) -> None:
        self.streamer = streamer
        self.in_flight = 0
        self.requests_total = 0
        self.failures_total = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    @property
    def url(self) -> str:
        return self.streamer.base_url

    @property
    def breaker_state(self) -> str:
        breaker = self.streamer.breaker
        return breaker.state if breaker is not None else "closed"

    def note_error(self, exc: BaseException) -> None:
        """Remember a failure of this replica (a refusal by an open breaker is not one)."""
        if isinstance(exc, AppError) and exc.code == "circuit_open":
            return
        self.failures_total += 1
        self.last_error = redact(str(exc))[:500]
        self.last_error_at = time.time()

    def state(self) -> ReplicaState:
        return ReplicaState(
            url=self.url,
            in_flight=self.in_flight,
            requests_total=self.requests_total,
            failures_total=self.failures_total,
            breaker_state=self.breaker_state,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
        )


class ReplicaPool:
    """Routes generations over replicas: fewest in flight first, failing replicas skipped."""

    def __init__(self, replicas: list[Replica], label: str) -> None:
        if not replicas:
            raise ValueError("a replica pool needs at least one replica")
        self.replicas = replicas
        self.label = label
        self._lock = threading.Lock()
        self._turn = 0

    def _acquire(self, tried: set[str]) -> Replica | None:
        """The replica for the next attempt, counted as in flight; None when all were tried."""
        with self._lock:
            n = len(self.replicas)
            start = self._turn % n
            self._turn += 1
            # Rotating the start makes ties (an idle pool) round robin instead of always the
            # first URL; replicas whose breaker is open go last (they would refuse at once).
            ordered = [self.replicas[(start + i) % n] for i in range(n)]
            candidates = [r for r in ordered if r.url not in tried]
            if not candidates:
                return None
            best = min(candidates, key=lambda r: (r.breaker_state == "open", r.in_flight))
            best.in_flight += 1
            best.requests_total += 1
            return best

    def _release(self, replica: Replica) -> None:
        with self._lock:
            replica.in_flight -= 1

    def stream(
        self, model: str, request: GenerationRequest, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        """Stream from the best replica, failing over to the next one until a token flows."""
        tried: set[str] = set()
        errors: list[AppError] = []
        while (replica := self._acquire(tried)) is not None:
            tried.add(replica.url)
            started = False
            try:
                for event in replica.streamer.stream(model, request, cancel):
                    started = True
                    yield event
                return
            except (BackendUnavailable, GenerationFailed) as exc:
                replica.note_error(exc)
                if started or cancel.is_set():
                    raise
                errors.append(exc)
            finally:
                self._release(replica)
        raise self._all_failed(errors)

    def _all_failed(self, errors: list[AppError]) -> AppError:
        if len(errors) == 1:
            return errors[0]
        waits = [int(e.headers["Retry-After"]) for e in errors if "Retry-After" in e.headers]
        headers = {"Retry-After": str(min(waits))} if waits else {}
        detail = "; ".join(e.message for e in errors)
        return BackendUnavailable(
            f"{self.label}: all {len(errors)} replicas failed: {detail}",
            code="replicas_unavailable",
            headers=headers,
        )

    def states(self) -> list[ReplicaState]:
        with self._lock:
            return [r.state() for r in self.replicas]
