"""Remote backends behind circuit breakers: a peer server that dies trips the breaker (fast
503s instead of every request waiting on retries) and, once it is back, requests recover.

The peer is a second real Mistral Playground process: it serves the OpenAI API the ``remote``
backend talks to and the Ollama API the ``ollama`` backend talks to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.errors import BackendUnavailable
from app.core.resilience import CircuitBreaker
from tests.helpers.server import ServerProcess
from tests.reliability.conftest import start_server

FAILURES = 2
RESET_S = 2.0


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_states():
    clock = _Clock()
    breaker = CircuitBreaker("unit", failure_threshold=2, reset_after_s=5, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(BackendUnavailable) as caught:
        breaker.before_call()
    assert caught.value.code == "circuit_open"
    clock.now = 5
    assert breaker.state == "half_open"
    breaker.before_call()  # the one trial
    with pytest.raises(BackendUnavailable):
        breaker.before_call()  # a second caller waits for the trial's outcome
    breaker.record_failure()  # the trial failed: open again for another pause
    assert breaker.state == "open"
    clock.now = 10
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call()


@pytest.fixture(scope="module")
def peer(tmp_path_factory, models_dir: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory, models_dir, "peer")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory, models_dir: Path, peer: ServerProcess) -> Iterator[ServerProcess]:
    remote = {"peer": {"url": f"{peer.url}/v1", "models": ["tiny"]}}
    proc = start_server(
        tmp_path_factory,
        models_dir,
        "front",
        MP_REMOTE_ENDPOINTS=json.dumps(remote),
        MP_OLLAMA_HOST=peer.url,
        MP_REMOTE_RETRIES="1",
        MP_REMOTE_BREAKER_FAILURES=str(FAILURES),
        MP_REMOTE_BREAKER_RESET_S=str(RESET_S),
    )
    yield proc
    proc.stop()


def _generate(front: ServerProcess, model: str) -> httpx.Response:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 4,
        "temperature": 0,
    }
    return httpx.post(f"{front.url}/v1/chat/completions", json=body, timeout=120)


def _breaker_gauge(front: ServerProcess, name_part: str) -> float | None:
    for line in httpx.get(f"{front.url}/metrics", timeout=60).text.splitlines():
        if line.startswith("mp_circuit_breaker_open{") and name_part in line:
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.parametrize(
    "model, breaker_name",
    [
        ("remote:peer/tiny", "/v1"),
        ("ollama:tiny", "ollama "),
    ],
)
def test_peer_down_trips_the_breaker_and_recovers(front, peer, model, breaker_name):
    assert _generate(front, model).status_code == 200  # loads the model on the front

    peer.kill()  # SIGKILL: connections refused from now on
    statuses = []
    codes = []
    for _ in range(FAILURES + 2):
        response = _generate(front, model)
        statuses.append(response.status_code)
        codes.append(response.json()["error"]["code"])
    assert statuses == [503] * (FAILURES + 2), (statuses, codes)
    assert codes[:FAILURES] == ["backend_unavailable"] * FAILURES, codes
    assert codes[FAILURES:] == ["circuit_open"] * 2, codes
    assert int(response.headers["retry-after"]) >= 1  # the last one, refused by the breaker
    assert _breaker_gauge(front, breaker_name) == 1.0

    peer.start()  # same port
    deadline = time.monotonic() + 120
    while True:
        response = _generate(front, model)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        assert response.json()["error"]["code"] in ("circuit_open", "backend_unavailable")
        time.sleep(0.5)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] is not None
    assert _breaker_gauge(front, breaker_name) == 0.0
