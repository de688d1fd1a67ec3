"""The resumable transfer on its own, against the local Hub: odd servers and failures."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from app.services.downloads.hub import RemoteFile
from app.services.downloads.transfer import (
    CancelSwitch,
    TransferCancelled,
    TransferFailed,
    fetch_file,
)
from tests.downloads.conftest import TINY_REPO
from tests.helpers.hub_server import HubServer


def _weights(hub: HubServer) -> RemoteFile:
    f = hub.repos[TINY_REPO].files["model.safetensors"]
    url = f"{hub.url}/{TINY_REPO}/resolve/main/model.safetensors"
    return RemoteFile(f.path, url, f.size, sha256=f.sha256)


def _fetch(hub: HubServer, part: Path, cancel: threading.Event | None = None, **kw) -> list[int]:
    seen: list[int] = []
    with httpx.Client() as client:
        fetch_file(
            client,
            _weights(hub),
            part,
            headers={},
            cancel=cancel or CancelSwitch(),
            on_bytes=seen.append,
            **kw,
        )
    return seen


def _seed_partial(hub: HubServer, part: Path, n: int) -> None:
    part.write_bytes(hub.repos[TINY_REPO].files["model.safetensors"].source.read_bytes()[:n])


def test_server_ignoring_range_restarts_cleanly(hub: HubServer, tmp_path: Path):
    part = tmp_path / "w.part"
    _seed_partial(hub, part, 1000)
    hub.ignore_range = True
    try:
        seen = _fetch(hub, part)
    finally:
        hub.ignore_range = False
    assert part.stat().st_size == hub.repos[TINY_REPO].files["model.safetensors"].size
    assert seen[0] == -1000  # progress told the 1000 kept bytes were dropped


def test_transient_errors_are_retried(hub: HubServer, tmp_path: Path):
    part = tmp_path / "w.part"
    _seed_partial(hub, part, 4096)
    hub.reset_counters()
    hub.fail_next = 2
    _fetch(hub, part)
    assert hub.fail_next == 0
    size = hub.repos[TINY_REPO].files["model.safetensors"].size
    assert sum(hub.bytes_sent.values()) == size - 4096  # resumed, nothing fetched twice


def test_retries_run_out_with_a_clear_error(hub: HubServer, tmp_path: Path):
    hub.fail_next = 3
    try:
        with pytest.raises(TransferFailed, match="after 2 attempts") as info:
            _fetch(hub, tmp_path / "w.part", retries=1)
    finally:
        hub.fail_next = 0
    assert info.value.code == "network_error"


def test_cancel_interrupts_a_silent_connection(hub: HubServer, tmp_path: Path):
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 4)
    cancel = CancelSwitch()
    threading.Thread(target=lambda: (hub.paused.wait(60), cancel.set()), daemon=True).start()
    try:
        with pytest.raises(TransferCancelled):
            _fetch(hub, tmp_path / "w.part", cancel=cancel)
    finally:
        hub.unpause.set()
    # What arrived before the cancel is kept for resume (bytes still in socket buffers when
    # the socket was shut down are not).
    assert 0 < (tmp_path / "w.part").stat().st_size <= weights.size // 4


def test_a_longer_partial_file_is_replaced(hub: HubServer, tmp_path: Path):
    part = tmp_path / "w.part"
    size = hub.repos[TINY_REPO].files["model.safetensors"].size
    part.write_bytes(b"x" * (size + 10))
    _fetch(hub, part)
    assert part.stat().st_size == size


def test_stale_prefix_from_another_revision_is_refetched(hub: HubServer, tmp_path: Path):
    part = tmp_path / "w.part"
    part.write_bytes(b"\0" * 5000)  # right size class, wrong bytes: an older file's prefix
    seen = _fetch(hub, part)
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    assert part.stat().st_size == weights.size
    assert -weights.size in seen  # progress was told about the restart


def test_restart_after_rename_marks_the_job_done(tmp_path: Path):
    """Killed between moving the model into place and recording it: the next start sees the
    files and completes the job without fetching anything."""
    import asyncio

    from app.core.config import Settings
    from app.core.db import Database
    from app.services.downloads import DownloadService
    from app.services.downloads.hub import ResolvedSource
    from app.services.downloads.jobs import DownloadJob, JobStore

    settings = Settings(models_dir=tmp_path / "models", data_dir=tmp_path / "data")
    (settings.models_dir / "done").mkdir(parents=True)
    (settings.models_dir / "done" / "a.json").write_text("{}")
    files = [RemoteFile("a.json", "http://127.0.0.1:1/never", 2)]
    source = ResolvedSource("hub", files, "done", False, repo_id="x/done", commit="c" * 40)
    db = Database(settings.database_path)
    job = DownloadJob.new(source, "done")
    JobStore(db).insert(job)
    JobStore(db).update(job, status="running")

    async def restart() -> str:
        service = DownloadService(settings, db)
        await service.start()
        info = await service.wait(job.id)
        await service.shutdown()
        return info.status

    assert asyncio.run(restart()) == "completed"


def test_url_size_without_head_support(hub: HubServer):
    from app.services.downloads.hub import resolve_url

    blob = hub.plain_files["blob.gguf"]
    hub.refuse_head = True
    try:
        source = resolve_url(f"{hub.url}/files/blob.gguf", None, 10, allow_private=True)
    finally:
        hub.refuse_head = False
    assert source.files[0].size == blob.size and source.default_name == "blob.gguf"
