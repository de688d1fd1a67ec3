"""Prometheus metrics of the server, served at ``/metrics``.

The metric objects live at module level, as prometheus-client intends (one process, one
registry); every area records into them with one-line calls:

- HTTP: recorded by the request middleware (route template, method, status).
- Generation: :func:`observe_first_token`, :func:`observe_inter_token`, ``TOKENS_GENERATED``
  (called by the generation service); ``QUEUE_DEPTH`` and ``REJECTED`` by admission control.
- Models: :func:`model_loaded` / :func:`model_unloaded` from the model manager; loaded models
  and their memory are read from the manager at scrape time (:func:`refresh_model_gauges`).
- Downloads: ``DOWNLOAD_BYTES.inc(n)``, ``DOWNLOADS_ACTIVE.inc()/dec()``,
  ``DOWNLOADS_FINISHED.labels(status="completed"|"failed"|"cancelled").inc()``.
- RAG: ``RAG_INGESTION_SECONDS.observe(s)``, ``RAG_DOCUMENTS.labels(status=...).inc()``,
  ``RAG_CHUNKS_EMBEDDED.inc(n)``, ``RAG_QUERY_SECONDS.labels(kind="query"|"answer").observe(s)``.
- Remote backends: ``mp_circuit_breaker_open`` and ``mp_remote_retries_total`` are read from
  the circuit breakers of :mod:`app.core.resilience` at scrape time (core never imports
  services).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

HTTP_REQUESTS = Counter(
    "mp_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "mp_http_request_duration_seconds",
    "Time to the end of the response (streams included).",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge("mp_http_requests_in_flight", "Requests being served now.")

TTFT = Histogram(
    "mp_generation_ttft_seconds",
    "Request received to first generated token.",
    ["model", "backend"],
    buckets=_LATENCY_BUCKETS,
)
INTER_TOKEN = Histogram(
    "mp_generation_inter_token_seconds",
    "Time between consecutive generated tokens.",
    ["model", "backend"],
    buckets=_TOKEN_BUCKETS,
)
TOKENS_GENERATED = Counter("mp_generation_tokens_total", "Tokens generated.", ["model", "backend"])
GENERATIONS = Counter(
    "mp_generations_total",
    "Generations by how they ended (stop, length, cancelled, error).",
    ["model", "backend", "finish_reason"],
)
QUEUE_DEPTH = Gauge(
    "mp_generation_queue_depth",
    "Generations admitted and not finished (queued or running).",
    ["model"],
)
REJECTED = Counter("mp_requests_rejected_total", "Requests refused with 429 by limits.", ["reason"])
SHARED_LIMITS_FALLBACK = Counter(
    "mp_shared_limits_fallback_total",
    "Limit checks counted in this process because Redis could not be reached.",
    ["what"],
)
AUTH_FAILURES = Counter("mp_auth_failures_total", "Requests refused with 401.")

MODELS_LOADED = Gauge("mp_models_loaded", "Models in memory.")
MODEL_MEMORY = Gauge(
    "mp_model_memory_bytes", "Memory held by a loaded model's weights.", ["model", "backend"]
)
MODEL_EVENTS = Counter("mp_model_events_total", "Model loads and unloads.", ["event", "backend"])
MODEL_LOAD_SECONDS = Histogram(
    "mp_model_load_seconds", "Time to load a model.", ["backend"], buckets=_LATENCY_BUCKETS
)

DOWNLOAD_BYTES = Counter("mp_download_bytes_total", "Bytes downloaded by download jobs.")
DOWNLOADS_ACTIVE = Gauge("mp_downloads_active", "Download jobs running now.")
DOWNLOADS_FINISHED = Counter(
    "mp_downloads_finished_total", "Download jobs that ended, by status.", ["status"]
)

RAG_DOCUMENTS = Counter(
    "mp_rag_documents_total", "Documents whose ingestion ended, by status.", ["status"]
)
RAG_CHUNKS_EMBEDDED = Counter("mp_rag_chunks_embedded_total", "Chunks embedded and stored.")
RAG_INGESTION_SECONDS = Histogram(
    "mp_rag_ingestion_seconds", "Time to ingest one document.", buckets=_LATENCY_BUCKETS
)
RAG_QUERY_SECONDS = Histogram(
    "mp_rag_query_seconds",
    "Retrieval (query) and answer latency.",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
)


class _BreakerCollector(Collector):
    """Breaker state and retry counts, read from the breakers when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        from app.core.resilience import all_breakers

        state = GaugeMetricFamily(
            "mp_circuit_breaker_open",
            "1 while a remote backend's circuit breaker is open.",
            labels=["name"],
        )
        retries = CounterMetricFamily(
            "mp_remote_retries", "Retried calls to remote backends.", labels=["name"]
        )
        for breaker in all_breakers():
            state.add_metric([breaker.name], 1.0 if breaker.is_open else 0.0)
            retries.add_metric([breaker.name], float(breaker.retries))
        yield state
        yield retries


REGISTRY.register(_BreakerCollector())

BACKEND_QUEUE_DEPTH = Gauge(
    "mp_backend_queue_depth",
    "Requests waiting inside a backend for a free sequence "
    "(llama.cpp scheduler), read at scrape time.",
    ["model", "backend"],
)
BACKEND_ACTIVE_SEQUENCES = Gauge(
    "mp_backend_active_requests",
    "Requests a loaded model's backend is serving or queueing, read at scrape time.",
    ["model", "backend"],
)

_known_models: set[tuple[str, str]] = set()


def observe_first_token(model: str, backend: str, seconds: float) -> None:
    TTFT.labels(model, backend).observe(seconds)


def observe_inter_token(model: str, backend: str, seconds: float) -> None:
    INTER_TOKEN.labels(model, backend).observe(seconds)


def model_loaded(backend: str, seconds: float) -> None:
    MODEL_EVENTS.labels("load", backend).inc()
    MODEL_LOAD_SECONDS.labels(backend).observe(seconds)


def model_unloaded(backend: str) -> None:
    MODEL_EVENTS.labels("unload", backend).inc()


def refresh_model_gauges(loaded: list[tuple[str, str, int]]) -> None:
    """Set the loaded-model gauges from ``(model, backend, memory_bytes)`` of each model."""
    MODELS_LOADED.set(len(loaded))
    current = {(model, backend) for model, backend, _ in loaded}
    for gone in _known_models - current:
        MODEL_MEMORY.remove(*gone)
        for gauge in (BACKEND_QUEUE_DEPTH, BACKEND_ACTIVE_SEQUENCES):
            with contextlib.suppress(KeyError):  # never scraped while it was loaded
                gauge.remove(*gone)
    _known_models.clear()
    _known_models.update(current)
    for model, backend, memory in loaded:
        MODEL_MEMORY.labels(model, backend).set(memory)


def refresh_backend_gauges(loaded: list[tuple[str, str, int, int]]) -> None:
    """Queue depth and active requests from ``(model, backend, queued, active)``."""
    for model, backend, queued, active in loaded:
        BACKEND_QUEUE_DEPTH.labels(model, backend).set(queued)
        BACKEND_ACTIVE_SEQUENCES.labels(model, backend).set(active)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
