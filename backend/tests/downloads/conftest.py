"""Fixtures for download tests: a local Hub serving the tiny model, and the app pointed at it."""

from __future__ import annotations

import json
import shutil
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.hub_server import HubServer
from tests.helpers.server import ServerProcess

TINY_REPO = "mistral-playground/tiny"
CORRUPT_REPO = "mistral-playground/tiny-corrupt"
GATED_REPO = "mistral-playground/tiny-gated"


@pytest.fixture(scope="module")
def hub(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    # A private copy: the served bytes must match the hashes taken now, even if someone
    # rebuilds models/tiny while the tests run.
    source = tmp_path_factory.mktemp("hub") / "tiny"
    shutil.copytree(tiny_model_dir, source)
    server = HubServer().start()
    server.add_repo(TINY_REPO, source)
    server.add_repo(CORRUPT_REPO, source, corrupt=("model.safetensors",))
    server.add_repo(GATED_REPO, source)
    server.gated.add(GATED_REPO)
    blob = tmp_path_factory.mktemp("blobs") / "blob.gguf"
    # 2 MiB of known bytes behind a minimal valid GGUF header (version 3, no tensors, no
    # metadata): downloads are checked by content before they become models.
    blob.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + bytes(range(256)) * 8192)
    server.add_file("blob.gguf", blob)
    yield server
    server.stop()


def app_env(hub: HubServer, root: Path, **extra: str) -> dict[str, str]:
    (root / "models").mkdir(exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    return {
        "MP_MODELS_DIR": str(root / "models"),
        "MP_DATA_DIR": str(root / "data"),
        "MP_THREADS": "1",
        "MP_DOWNLOAD_RESERVE_BYTES": "0",
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(root / "hf-home"),
        "HF_TOKEN": "hf_test_token",
        # The local hub stand-in listens on 127.0.0.1, which URL downloads refuse by default.
        "MP_DOWNLOAD_ALLOW_PRIVATE_URLS": "true",
        **extra,
    }


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def app(hub: HubServer, app_root: Path) -> Iterator[ServerProcess]:
    env = app_env(hub, app_root, MP_MAX_CONCURRENT_DOWNLOADS="1")
    proc = ServerProcess(env, log_path=app_root / "server.log").start()
    yield proc
    proc.stop()


def wait_job(base: str, job_id: str, statuses: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{base}/api/v1/downloads/{job_id}", timeout=10).json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job stayed {job['status']}: {job}")
        time.sleep(0.1)


def sse_progress(base: str, job_id: str, timeout: float = 120) -> list[dict]:
    """Every ``progress`` event of a job's stream until it ends."""
    events = []
    with httpx.stream("GET", f"{base}/api/v1/downloads/{job_id}/events", timeout=timeout) as r:
        assert r.status_code == 200
        name = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name == "progress":
                events.append(json.loads(line.split(":", 1)[1]))
    return events


def repo_bytes(hub: HubServer, repo: str) -> int:
    return sum(n for key, n in hub.bytes_sent.items() if key.startswith(repo + "/"))


def repo_size(hub: HubServer, repo: str) -> int:
    return sum(f.size for f in hub.repos[repo].files.values())
