"""Metrics, request ids and structured logs, read from a real server."""

from __future__ import annotations

import json
import re

import httpx

from tests.helpers.server import ServerProcess


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample whose labels include ``labels``."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_request_id_is_returned_and_accepted(server: ServerProcess):
    fresh = httpx.get(f"{server.url}/api/v1/health", timeout=120)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    echoed = httpx.get(
        f"{server.url}/api/v1/models", headers={"X-Request-ID": "trace-42.a"}, timeout=120
    )
    assert echoed.headers["x-request-id"] == "trace-42.a"
    # A hostile id (header injection, huge) is replaced, not echoed.
    odd = httpx.get(
        f"{server.url}/api/v1/models", headers={"X-Request-ID": "a b" * 100}, timeout=120
    )
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
    # Errors carry it too.
    missing = httpx.get(f"{server.url}/api/v1/rag/jobs/nope", timeout=120)
    assert missing.status_code == 404 and missing.headers["x-request-id"]


def test_metrics_cover_requests_generation_and_models(server: ServerProcess):
    body = {"prompt": "Hello there", "max_tokens": 8, "temperature": 0, "stream": True}
    with httpx.stream(
        "POST",
        f"{server.url}/api/v1/models/generate",
        json=body,
        headers={"X-Request-ID": "metrics-gen-1"},
        timeout=120,
    ) as response:
        assert response.status_code == 200
        response.read()
    text = httpx.get(f"{server.url}/metrics", timeout=120).text
    assert (
        _sample(
            text,
            "mp_http_requests_total",
            route="/api/v1/models/generate",
            method="POST",
            status="200",
        )
        >= 1
    )
    assert _sample(text, "mp_generation_ttft_seconds_count", model="tiny") >= 1
    assert _sample(text, "mp_generation_inter_token_seconds_count", model="tiny") >= 1
    assert _sample(text, "mp_generation_tokens_total", model="tiny") >= 2
    assert _sample(text, "mp_models_loaded") >= 1
    assert _sample(text, "mp_model_memory_bytes", model="tiny") > 0
    assert _sample(text, "mp_generation_queue_depth", model="tiny") == 0
    # Route labels are templates, not raw paths (bounded cardinality).
    httpx.get(f"{server.url}/api/v1/downloads/some-id-123", timeout=120)
    text = httpx.get(f"{server.url}/metrics", timeout=120).text
    assert 'route="/api/v1/downloads/{job_id}"' in text
    assert "some-id-123" not in text


def test_logs_are_json_lines_with_the_request_id(server: ServerProcess):
    httpx.get(f"{server.url}/api/v1/models", headers={"X-Request-ID": "log-check-7"}, timeout=120)
    assert server.log_path is not None
    records = []
    for line in server.log_path.read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    access = [r for r in records if r.get("request_id") == "log-check-7"]
    assert access, "no log line carries the request id"
    line = access[-1]
    assert line["logger"] == "app.access"
    assert line["route"] == "/api/v1/models" and line["status"] == 200
    assert {"time", "level", "message", "duration_ms"} <= set(line)
