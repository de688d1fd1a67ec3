"""Rate limits, per-key concurrency and the per-model queue cap: over a limit the answer is a
429 envelope with Retry-After, at once (never a hang), and places free up afterwards."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import REPO_ROOT, ServerProcess
from tests.reliability.conftest import start_server

LONG = {
    "prompt": "Once upon a time",
    "max_tokens": 400,
    "temperature": 1.0,
    "seed": 1,
    "stream": True,
}


def _burst(url: str, n: int, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    """``n`` streaming generations released at the same instant; each read to its end."""
    barrier = threading.Barrier(n)
    results: list[httpx.Response | None] = [None] * n

    def one(i: int) -> None:
        barrier.wait()
        with httpx.stream(
            "POST", f"{url}/api/v1/models/generate", json=LONG, headers=headers, timeout=300
        ) as response:
            response.read()
            results[i] = response

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(r is not None for r in results), "a request hung"
    return results  # type: ignore[return-value]


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["type"] == "rate_limit_error" and error["message"]


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory, models_dir: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory, models_dir, "queue", MP_MAX_QUEUE_PER_MODEL="2")
    httpx.post(f"{proc.url}/api/v1/models/tiny/load", timeout=120).raise_for_status()
    yield proc
    proc.stop()


def test_queue_cap_refuses_with_429_and_frees_places(queue_server: ServerProcess):
    responses = _burst(queue_server.url, 8)
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert ok and refused, [r.status_code for r in responses]
    assert len(ok) <= 8 - len(refused)
    for response in refused:
        _assert_429(response)
        assert "max_queue_per_model" in response.json()["error"]["message"]
    for response in ok:
        assert "event: done" in response.text
    # Every place was given back: a new request is admitted, and the queue gauge is 0.
    again = httpx.post(
        f"{queue_server.url}/api/v1/models/generate",
        json={**LONG, "stream": False, "max_tokens": 3},
        timeout=120,
    )
    assert again.status_code == 200
    metrics = httpx.get(f"{queue_server.url}/metrics", timeout=120).text
    assert 'mp_generation_queue_depth{model="tiny"} 0.0' in metrics
    assert 'mp_requests_rejected_total{reason="queue_full"}' in metrics


def _make_key(data_dir: Path, name: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--name", name],
        cwd=REPO_ROOT / "backend",
        env={"MP_DATA_DIR": str(data_dir), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return dict(line.split(": ", 1) for line in out.strip().splitlines())["key"]


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory, models_dir: Path) -> Iterator[tuple[ServerProcess, Path]]:
    proc = start_server(
        tmp_path_factory,
        models_dir,
        "keyed",
        MP_AUTH_ENABLED="true",
        MP_MAX_CONCURRENT_GENERATIONS_PER_KEY="1",
        MP_RATE_LIMIT_PER_MINUTE="30",
    )
    data_dir = Path(proc.env["MP_DATA_DIR"])
    yield proc, data_dir
    proc.stop()


def test_concurrent_generations_per_key(keyed_server):
    proc, data_dir = keyed_server
    busy = {"Authorization": f"Bearer {_make_key(data_dir, 'busy')}"}
    other = {"Authorization": f"Bearer {_make_key(data_dir, 'other')}"}
    httpx.post(f"{proc.url}/api/v1/models/tiny/load", headers=busy, timeout=120)
    responses = _burst(proc.url, 4, busy)
    refused = [r for r in responses if r.status_code != 200]
    assert refused and len(refused) < 4, [r.status_code for r in responses]
    for response in refused:
        _assert_429(response)
        assert "at once" in response.json()["error"]["message"]
    # Another key is not held back by the first one's limit.
    assert all(r.status_code == 200 for r in _burst(proc.url, 1, other))


def test_requests_per_minute_per_key(keyed_server):
    proc, data_dir = keyed_server
    headers = {"Authorization": f"Bearer {_make_key(data_dir, 'chatty')}"}
    statuses = [
        httpx.get(f"{proc.url}/v1/models", headers=headers, timeout=120).status_code
        for _ in range(30)
    ]
    assert statuses == [200] * 30
    # The bucket refills at 30/min (one every 2 s) while we ask: a 429 comes within a few more.
    for _ in range(10):
        over = httpx.get(f"{proc.url}/v1/models", headers=headers, timeout=120)
        if over.status_code != 200:
            break
    _assert_429(over)
    # Another key still gets through; health is never limited.
    fresh = {"Authorization": f"Bearer {_make_key(data_dir, 'fresh')}"}
    assert httpx.get(f"{proc.url}/v1/models", headers=fresh, timeout=120).status_code == 200
    assert httpx.get(f"{proc.url}/api/v1/health", timeout=120).status_code == 200
