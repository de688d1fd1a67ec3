"""Downloads through the API from a local Hub: progress, resume, checksum, delete, CLI."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.downloads.conftest import (
    CORRUPT_REPO,
    TINY_REPO,
    app_env,
    repo_bytes,
    repo_size,
    sse_progress,
    wait_job,
)
from tests.helpers.hub_server import HubServer
from tests.helpers.server import REPO_ROOT, ServerProcess


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_streams_progress_and_model_generates(
    hub: HubServer, app: ServerProcess, app_root: Path
):
    hub.reset_counters()
    hub.throttle_bps = 8_000_000  # a few seconds, so the stream shows real progress
    try:
        r = httpx.post(f"{app.url}/api/v1/downloads", json={"repo_id": TINY_REPO}, timeout=30)
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["name"] == "tiny" and job["bytes_total"] == repo_size(hub, TINY_REPO)
        events = sse_progress(app.url, job["id"])
    finally:
        hub.throttle_bps = None
    done = [e["bytes_done"] for e in events]
    assert len(events) >= 3
    assert done == sorted(done), "progress went backwards"
    assert events[-1]["status"] == "completed"
    assert events[-1]["progress"] == 1.0 and done[-1] == job["bytes_total"]
    assert any(e["status"] == "running" and e["current_file"] for e in events)
    # Every file arrived intact, fetched exactly once.
    folder = app_root / "models" / "tiny"
    for f in hub.repos[TINY_REPO].files.values():
        assert _sha256(folder / f.path) == f.sha256
    assert repo_bytes(hub, TINY_REPO) == repo_size(hub, TINY_REPO)
    assert {q["auth"] for q in hub.requests} == {"Bearer hf_test_token"}  # HF_TOKEN is sent
    assert not list((app_root / "models").glob(".*partial"))

    models = httpx.get(f"{app.url}/api/v1/models", timeout=10).json()
    assert "tiny" in [m["id"] for m in models["local"]]
    gen = httpx.post(
        f"{app.url}/api/v1/models/generate",
        json={"model": "tiny", "prompt": "Once upon a time", "max_tokens": 5, "temperature": 0},
        timeout=120,
    )
    assert gen.status_code == 200, gen.text
    assert gen.json()["usage"]["completion_tokens"] > 0

    # A finished job cannot be cancelled.
    r = httpx.post(f"{app.url}/api/v1/downloads/{job['id']}/cancel", timeout=10)
    assert r.status_code == 409 and r.json()["error"]["type"] == "conflict_error"


def test_connection_dropped_half_way_resumes(hub: HubServer, app: ServerProcess, app_root: Path):
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.drop_once(f"{TINY_REPO}/model.safetensors", weights.size // 2)
    r = httpx.post(
        f"{app.url}/api/v1/downloads", json={"repo_id": TINY_REPO, "name": "tiny-drop"}, timeout=30
    )
    assert r.status_code == 202, r.text
    job = wait_job(app.url, r.json()["id"], ("completed", "failed"))
    assert job["status"] == "completed", job
    key = f"{TINY_REPO}/model.safetensors"
    ranged = [q for q in hub.requests if q["path"] == key and q["range"]]
    assert ranged, "the retry did not ask for the rest with a Range header"
    refetched = repo_bytes(hub, TINY_REPO) - repo_size(hub, TINY_REPO)
    assert 0 <= refetched < 0.01 * repo_size(hub, TINY_REPO), refetched
    assert _sha256(app_root / "models" / "tiny-drop" / "model.safetensors") == weights.sha256


def test_cancel_then_resume_continues(hub: HubServer, app: ServerProcess, app_root: Path):
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 3)
    try:
        r = httpx.post(
            f"{app.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "tiny-cancel"},
            timeout=30,
        )
        job_id = r.json()["id"]
        _pause_mid_weights(hub, app.url, job_id)
        r = httpx.post(f"{app.url}/api/v1/downloads/{job_id}/cancel", timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        kept = r.json()["bytes_done"]
        assert kept > 0
        assert (app_root / "models" / ".tiny-cancel.partial").is_dir()
        assert not (app_root / "models" / "tiny-cancel").exists()
        r = httpx.post(f"{app.url}/api/v1/downloads/{job_id}/resume", timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "queued"
        job = wait_job(app.url, job_id, ("completed", "failed"))
    finally:
        hub.unpause.set()
    assert job["status"] == "completed", job
    refetched = repo_bytes(hub, TINY_REPO) - repo_size(hub, TINY_REPO)
    assert refetched < 0.01 * repo_size(hub, TINY_REPO), refetched
    # Resuming a completed job is refused.
    assert httpx.post(f"{app.url}/api/v1/downloads/{job_id}/resume", timeout=10).status_code == 409


def test_kill_and_restart_resumes(hub: HubServer, app: ServerProcess, app_root: Path):
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 3)
    try:
        r = httpx.post(
            f"{app.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "tiny-kill"},
            timeout=30,
        )
        job_id = r.json()["id"]
        _pause_mid_weights(hub, app.url, job_id)
        app.kill()  # SIGKILL mid-file: no chance to save or clean up anything
        partial = app_root / "models" / ".tiny-kill.partial"
        assert partial.is_dir()
        hub.unpause.set()
        app.start()
        job = wait_job(app.url, job_id, ("completed", "failed"))
    finally:
        hub.unpause.set()
    assert job["status"] == "completed", job
    refetched = repo_bytes(hub, TINY_REPO) - repo_size(hub, TINY_REPO)
    assert refetched < 0.01 * repo_size(hub, TINY_REPO), refetched
    for f in hub.repos[TINY_REPO].files.values():
        assert _sha256(app_root / "models" / "tiny-kill" / f.path) == f.sha256


def test_concurrent_download_limit_queues_jobs(hub: HubServer, app: ServerProcess):
    """With MP_MAX_CONCURRENT_DOWNLOADS=1 a second job waits while the first is held."""
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 2)
    try:
        first = httpx.post(
            f"{app.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "tiny-q1"},
            timeout=30,
        ).json()
        _pause_mid_weights(hub, app.url, first["id"])
        second = httpx.post(
            f"{app.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "tiny-q2"},
            timeout=30,
        ).json()
        for _ in range(5):  # the first cannot finish while held, so the second must wait
            job = httpx.get(f"{app.url}/api/v1/downloads/{second['id']}", timeout=10).json()
            assert job["status"] == "queued" and job["bytes_done"] == 0, job
            time.sleep(0.2)
        catalog = httpx.get(
            f"{app.url}/api/v1/models/catalog", params={"q": "tiny"}, timeout=30
        ).json()
        entry = next(e for e in catalog["data"] if e["repo"] == TINY_REPO)
        assert entry["source"] == "hub" and entry["status"] == "downloading"
        # The same local name cannot be downloaded twice at once.
        dup = httpx.post(
            f"{app.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "tiny-q2"},
            timeout=30,
        )
        assert dup.status_code == 409 and dup.json()["error"]["param"] == "name"
    finally:
        hub.unpause.set()
    for job_id in (first["id"], second["id"]):
        assert wait_job(app.url, job_id, ("completed", "failed"))["status"] == "completed"


def test_graceful_stop_requeues_and_restart_resumes(
    hub: HubServer, app: ServerProcess, app_root: Path
):
    hub.reset_counters()
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 2)
    try:
        r = httpx.post(
            f"{app.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "tiny-term"},
            timeout=30,
        )
        job_id = r.json()["id"]
        _pause_mid_weights(hub, app.url, job_id)
        app.stop()  # SIGTERM: the job is put back in the queue, its partial files kept
        assert (app_root / "models" / ".tiny-term.partial").is_dir()
        with sqlite3.connect(app_root / "data" / "playground.sqlite3") as db:
            row = db.execute("SELECT status FROM download_jobs WHERE id=?", (job_id,)).fetchone()
        assert row == ("queued",)
        app.start()
        job = wait_job(app.url, job_id, ("completed", "failed"))
    finally:
        hub.unpause.set()
    assert job["status"] == "completed", job
    refetched = repo_bytes(hub, TINY_REPO) - repo_size(hub, TINY_REPO)
    assert refetched < 0.01 * repo_size(hub, TINY_REPO), refetched


def test_bad_checksum_fails_and_is_not_ready(hub: HubServer, app: ServerProcess, app_root: Path):
    r = httpx.post(
        f"{app.url}/api/v1/downloads",
        json={"repo_id": CORRUPT_REPO, "name": "tiny-bad"},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    job = wait_job(app.url, r.json()["id"], ("completed", "failed"))
    assert job["status"] == "failed"
    assert job["error_code"] == "checksum_mismatch"
    assert "Checksum mismatch for 'model.safetensors'" in job["error"]
    local = [m["id"] for m in httpx.get(f"{app.url}/api/v1/models", timeout=10).json()["local"]]
    assert "tiny-bad" not in local
    catalog = httpx.get(f"{app.url}/api/v1/models/catalog", timeout=30).json()
    assert "tiny-bad" not in [e["id"] for e in catalog["data"]]
    assert not (app_root / "models" / "tiny-bad").exists()
    # Deleting the failed job removes its partial files.
    assert httpx.delete(f"{app.url}/api/v1/downloads/{job['id']}", timeout=30).status_code == 204
    assert not (app_root / "models" / ".tiny-bad.partial").exists()


def test_url_download_with_sha256(hub: HubServer, app: ServerProcess, app_root: Path):
    blob = hub.plain_files["blob.gguf"]
    url = f"{hub.url}/files/blob.gguf"
    body = {"url": url, "sha256": blob.sha256}
    r = httpx.post(f"{app.url}/api/v1/downloads", json=body, timeout=30)
    assert r.status_code == 202, r.text
    job = wait_job(app.url, r.json()["id"], ("completed", "failed"))
    assert job["status"] == "completed", job
    assert _sha256(app_root / "models" / "blob.gguf") == blob.sha256
    r = httpx.post(
        f"{app.url}/api/v1/downloads",
        json={"url": url, "sha256": "0" * 64, "name": "blob-wrong.gguf"},
        timeout=30,
    )
    job = wait_job(app.url, r.json()["id"], ("completed", "failed"))
    assert job["status"] == "failed" and job["error_code"] == "checksum_mismatch"
    assert not (app_root / "models" / "blob-wrong.gguf").exists()


def test_delete_model_frees_its_space(app: ServerProcess, app_root: Path):
    local = httpx.get(f"{app.url}/api/v1/models", timeout=10).json()["local"]
    entry = next(m for m in local if m["id"] == "tiny-drop")
    r = httpx.delete(f"{app.url}/api/v1/models/tiny-drop", timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["freed_bytes"] == entry["size_bytes"] > 0
    assert not (app_root / "models" / "tiny-drop").exists()
    local = httpx.get(f"{app.url}/api/v1/models", timeout=10).json()["local"]
    assert "tiny-drop" not in [m["id"] for m in local]
    r = httpx.delete(f"{app.url}/api/v1/models/tiny-drop", timeout=30)
    assert r.status_code == 404 and "error" in r.json()


def test_cli_pull_uses_same_downloader(hub: HubServer, tmp_path: Path):
    env = {**os.environ, **app_env(hub, tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "pull", TINY_REPO, "--name", "tiny-cli"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tiny-cli" in out.stdout
    folder = tmp_path / "models" / "tiny-cli"
    for f in hub.repos[TINY_REPO].files.values():
        assert _sha256(folder / f.path) == f.sha256
    bad = subprocess.run(
        [sys.executable, "-m", "app.cli", "pull", "nobody/missing"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "not found" in (bad.stdout + bad.stderr).lower()


def _pause_mid_weights(hub: HubServer, base: str, job_id: str, timeout: float = 120) -> None:
    """Wait until the hub holds the weights file part way and the app has written every byte
    sent so far, so whatever happens next, no byte is in flight. (A kill with bytes in socket
    buffers loses those, for any client; the test measures what our side keeps.)"""
    assert hub.paused.wait(timeout), "the hub never reached the pause point"
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{base}/api/v1/downloads/{job_id}", timeout=10).json()
        assert job["status"] == "running", job
        if job["bytes_done"] == repo_bytes(hub, TINY_REPO):
            return
        assert time.monotonic() < deadline, (job["bytes_done"], repo_bytes(hub, TINY_REPO))
        time.sleep(0.05)
