"""Limits shared by replicas through a real Redis: two app processes on one ``MP_REDIS_URL``
count one rate limit and one per-model queue; Redis down at start-up stops the server with
the URL named; Redis down while serving leaves generation working (per-replica counting) and
the shared counting returns when Redis is back, without a restart."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import REPO_ROOT, ServerProcess, free_port
from tests.reliability.conftest import start_server
from tests.shared.conftest import RedisServer

LIMIT = 20
LONG = {"prompt": "Once upon a time", "max_tokens": 300, "temperature": 1.0, "seed": 1}


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, redis_server: RedisServer
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "MP_REDIS_URL": redis_server.url,
        "MP_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "MP_MAX_QUEUE_PER_MODEL": "1",
    }
    a = start_server(tmp_path_factory, models_dir, "replica-a", **env)
    b = start_server(tmp_path_factory, models_dir, "replica-b", **env)
    yield a, b
    a.stop()
    b.stop()


def test_rate_limit_holds_across_two_replicas(
    replicas: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    redis_server.flush()
    a, b = replicas
    codes = []
    for i in range(LIMIT + 4):
        server = a if i % 2 == 0 else b
        codes.append(httpx.get(f"{server.url}/api/v1/models", timeout=30).status_code)
    assert codes[:LIMIT] == [200] * LIMIT
    assert codes[LIMIT:] == [429] * 4  # without sharing each replica would allow 20
    refused = httpx.get(f"{b.url}/v1/models", timeout=30)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"
    redis_server.flush()


def test_queue_cap_holds_across_two_replicas(
    replicas: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    redis_server.flush()
    a, b = replicas
    started = threading.Event()
    first: list[int] = []

    def long_stream() -> None:
        with httpx.stream(
            "POST", f"{a.url}/api/v1/models/generate", json={**LONG, "stream": True}, timeout=300
        ) as response:
            for _ in response.iter_lines():
                started.set()
            first.append(response.status_code)

    thread = threading.Thread(target=long_stream)
    thread.start()
    assert started.wait(120)
    busy = httpx.post(f"{b.url}/api/v1/models/generate", json={**LONG, "max_tokens": 4}, timeout=60)
    assert busy.status_code == 429, busy.text  # the one place is taken on replica A
    assert "all replicas" in busy.json()["error"]["message"]
    thread.join(300)
    assert first == [200]
    # The place is released in Redis when A's stream ends.
    deadline = time.monotonic() + 10
    while True:
        after = httpx.post(
            f"{b.url}/api/v1/models/generate", json={**LONG, "max_tokens": 4}, timeout=120
        )
        if after.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert after.status_code == 200, after.text
    redis_server.flush()


def test_redis_down_at_start_up_stops_the_server(tmp_path: Path, models_dir: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {
        **ServerProcess({}).env,
        "MP_MODELS_DIR": str(models_dir),
        "MP_DATA_DIR": str(tmp_path),
        "MP_REDIS_URL": url,
        "MP_PORT": str(free_port()),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"Redis at {url} (MP_REDIS_URL) is not reachable" in done.stdout + done.stderr


def test_redis_outage_while_serving_then_recovery(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("redis-outage")).start()
    env = {"MP_REDIS_URL": redis.url, "MP_RATE_LIMIT_PER_MINUTE": "1000"}
    a = start_server(tmp_path_factory, models_dir, "outage-a", **env)
    try:
        ok = httpx.post(
            f"{a.url}/api/v1/models/generate", json={**LONG, "max_tokens": 4}, timeout=180
        )
        assert ok.status_code == 200
        redis.stop()
        # Generation needs no Redis to work: limits are counted in the process meanwhile.
        during = httpx.post(
            f"{a.url}/api/v1/models/generate", json={**LONG, "max_tokens": 4}, timeout=60
        )
        assert during.status_code == 200, during.text
        metrics = httpx.get(f"{a.url}/metrics", timeout=30).text
        assert "mp_shared_limits_fallback_total" in metrics
        redis.start()  # same port: the replica finds it again by itself
        deadline = time.monotonic() + 30
        import redis as redis_py

        client = redis_py.Redis(host="127.0.0.1", port=redis.port)
        while time.monotonic() < deadline:
            httpx.get(f"{a.url}/api/v1/models", timeout=30)
            if any(k.startswith(b"mp-rate") for k in client.keys("*")):
                break
            time.sleep(0.5)
        assert any(k.startswith(b"mp-rate") for k in client.keys("*")), "no shared counts"
    finally:
        a.stop()
        redis.stop()
