"""Model downloads on the Redis queue: started on replica A (``--no-worker``), run by a
``playground worker``, streamed and cancelled from replica B; a worker killed mid-file is
replaced and the download resumes from the bytes on disk and completes once."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.downloads.conftest import (
    TINY_REPO,
    app_env,
    hub,  # noqa: F401 (fixture)
    repo_bytes,
    repo_size,
    sse_progress,
)
from tests.helpers.hub_server import HubServer
from tests.helpers.server import ServerProcess, WorkerProcess
from tests.shared.conftest import RedisServer


@dataclass
class Nodes:
    a: ServerProcess
    b: ServerProcess
    worker: WorkerProcess
    root: Path


@pytest.fixture(scope="module")
def nodes(
    hub: HubServer,  # noqa: F811
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Nodes]:
    redis_server.flush()
    root = tmp_path_factory.mktemp("queue-downloads")
    env = app_env(hub, root, MP_REDIS_URL=redis_server.url, MP_JOB_VISIBILITY_TIMEOUT_S="3")
    a = ServerProcess(env, log_path=root / "a.log", args=["--no-worker"]).start()
    b = ServerProcess(env, log_path=root / "b.log", args=["--no-worker"]).start()
    worker = WorkerProcess(env, log_path=root / "worker.log").start()
    yield Nodes(a, b, worker, root)
    hub.unpause.set()
    worker.stop()
    a.stop()
    b.stop()


def _held_mid_weights(server: HubServer, base: str, job_id: str) -> None:
    """The hub holds the weights part way and every byte sent is on disk."""
    assert server.paused.wait(120), "the hub never reached the pause point"
    deadline = time.monotonic() + 120
    while (job := httpx.get(f"{base}/api/v1/downloads/{job_id}", timeout=10).json())[
        "bytes_done"
    ] != repo_bytes(server, TINY_REPO):
        assert job["status"] == "running" and time.monotonic() < deadline, job
        time.sleep(0.05)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_on_a_runs_on_the_worker_survives_its_kill(hub: HubServer, nodes: Nodes):  # noqa: F811
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 3)
    r = httpx.post(
        f"{nodes.a.url}/api/v1/downloads",
        json={"repo_id": TINY_REPO, "name": "tiny-q"},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    _held_mid_weights(hub, nodes.b.url, job_id)
    nodes.worker.kill()
    hub.unpause.set()
    nodes.worker.start()
    events = sse_progress(nodes.b.url, job_id)  # streamed by B from the worker's snapshots
    assert events[-1]["status"] == "completed", events[-1]
    assert [e["status"] for e in events].count("completed") == 1
    refetched = repo_bytes(hub, TINY_REPO) - repo_size(hub, TINY_REPO)
    assert refetched < 0.01 * repo_size(hub, TINY_REPO), refetched  # resumed from disk
    for f in hub.repos[TINY_REPO].files.values():
        assert _sha256(nodes.root / "models" / "tiny-q" / f.path) == f.sha256
    assert not (nodes.root / "models" / ".tiny-q.partial").exists()
    models = httpx.get(f"{nodes.b.url}/api/v1/models", timeout=30).json()
    assert "tiny-q" in str(models)
    assert "download " + job_id not in (nodes.root / "a.log").read_text()


def test_cancel_on_b_stops_the_download_on_the_worker(hub: HubServer, nodes: Nodes):  # noqa: F811
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 3)
    r = httpx.post(
        f"{nodes.a.url}/api/v1/downloads",
        json={"repo_id": TINY_REPO, "name": "tiny-qc"},
        timeout=30,
    )
    job_id = r.json()["id"]
    try:
        _held_mid_weights(hub, nodes.b.url, job_id)
        cancelled = httpx.post(f"{nodes.b.url}/api/v1/downloads/{job_id}/cancel", timeout=30)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        time.sleep(1.5)  # the worker checks the row twice a second
    finally:
        hub.unpause.set()
    time.sleep(3.0)  # long enough for the rest of the tiny model, had it gone on
    job = httpx.get(f"{nodes.a.url}/api/v1/downloads/{job_id}", timeout=10).json()
    assert job["status"] == "cancelled", job  # not overwritten by the worker
    assert not (nodes.root / "models" / "tiny-qc").exists()
    assert job["bytes_done"] < weights.size  # the part file stopped growing
