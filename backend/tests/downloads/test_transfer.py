"""The resumable transfer on its own, against the local Hub: odd servers and failures."""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from app.services.downloads import transfer
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


def _fetch(
    hub: HubServer,
    part: Path,
    cancel: threading.Event | None = None,
    client: httpx.Client | None = None,
    **kw,
) -> list[int]:
    seen: list[int] = []
    with client or httpx.Client() as client:
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


def _spy_socket_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records each call of the socket read path (the bytes it was asked for)."""
    calls: list[int] = []
    real = transfer._receive

    def spy(sock, remaining, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(remaining)
        return real(sock, remaining, *args, **kwargs)

    monkeypatch.setattr(transfer, "_receive", spy)
    return calls


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


def test_cancel_interrupts_a_silent_connection(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    socket_reads = _spy_socket_reads(monkeypatch)
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
    assert socket_reads, "the blocked read was not on the socket read path"


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


def test_large_body_is_read_from_the_socket_in_large_blocks(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    socket_reads = _spy_socket_reads(monkeypatch)
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    part = tmp_path / "w.part"
    seen = _fetch(hub, part)
    assert part.read_bytes() == weights.source.read_bytes()
    assert sum(seen) == weights.size  # progress for every byte, once
    # After httpx's first chunk the rest came from the socket, in reads larger than httpx's.
    assert len(socket_reads) == 1 and 0 < socket_reads[0] < weights.size
    assert max(seen) > 64 * 1024


def test_resume_on_the_socket_path_fetches_only_the_rest(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    socket_reads = _spy_socket_reads(monkeypatch)
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    kept = weights.size // 3 + 7  # not on any buffer boundary
    part = tmp_path / "w.part"
    _seed_partial(hub, part, kept)
    hub.reset_counters()
    seen = _fetch(hub, part)
    assert part.read_bytes() == weights.source.read_bytes()
    key = f"{TINY_REPO}/model.safetensors"
    assert [q["range"] for q in hub.requests if q["path"] == key] == [f"bytes={kept}-"]
    assert hub.bytes_sent[key] == weights.size - kept == sum(seen)
    assert socket_reads


def test_drop_mid_body_on_the_socket_path_resumes_where_it_ended(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    socket_reads = _spy_socket_reads(monkeypatch)
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    key = f"{TINY_REPO}/model.safetensors"
    hub.reset_counters()
    hub.drop_once(key, weights.size // 2)
    part = tmp_path / "w.part"
    _fetch(hub, part)
    assert part.read_bytes() == weights.source.read_bytes()
    ranges = [q["range"] for q in hub.requests if q["path"] == key]
    assert ranges == [None, f"bytes={weights.size // 2}-"]
    assert hub.bytes_sent[key] == weights.size  # nothing fetched twice
    assert len(socket_reads) == 2


def test_bodies_without_a_socket_or_under_the_floor_keep_httpx_reads(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    socket_reads = _spy_socket_reads(monkeypatch)
    # A small Hub file, checked by its git blob id, over a real connection.
    config = hub.repos[TINY_REPO].files["config.json"]
    assert config.size < transfer.BULK_MIN_BYTES
    small = RemoteFile(
        "config.json",
        f"{hub.url}/{TINY_REPO}/resolve/main/config.json",
        config.size,
        git_sha1=config.git_sha1,
    )
    with httpx.Client() as client:
        fetch_file(
            client,
            small,
            tmp_path / "c.part",
            headers={},
            cancel=CancelSwitch(),
            on_bytes=lambda n: None,
        )
    assert (tmp_path / "c.part").read_bytes() == config.source.read_bytes()
    # A large body from a transport without a network stream (no socket to read from).
    body = bytes(range(256)) * 12288  # 3 MiB
    mock = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"Content-Length": str(len(body))}, stream=httpx.ByteStream(body)
        )
    )
    big = RemoteFile(
        "b.bin", "http://mock.invalid/b.bin", len(body), sha256=hashlib.sha256(body).hexdigest()
    )
    with httpx.Client(transport=mock) as client:
        fetch_file(
            client,
            big,
            tmp_path / "b.part",
            headers={},
            cancel=CancelSwitch(),
            on_bytes=lambda n: None,
        )
    assert (tmp_path / "b.part").read_bytes() == body
    assert socket_reads == []


def test_mismatch_on_the_socket_path_discards_the_file(hub: HubServer, tmp_path: Path):
    weights = hub.repos[TINY_REPO].files["model.safetensors"]
    url = f"{hub.url}/{TINY_REPO}/resolve/main/model.safetensors"
    wrong = RemoteFile(weights.path, url, weights.size, sha256="0" * 64)
    part = tmp_path / "w.part"
    with httpx.Client() as client, pytest.raises(TransferFailed) as info:
        fetch_file(client, wrong, part, headers={}, cancel=CancelSwitch(), on_bytes=lambda n: None)
    assert info.value.code == "checksum_mismatch"
    assert not part.exists()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_body_on_the_socket_path(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Over TLS the socket read path reads the decrypted stream (SSLSocket), not raw records."""
    socket_reads = _spy_socket_reads(monkeypatch)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    tls_hub = HubServer(tls=server_ctx).start()
    try:
        tls_hub.repos[TINY_REPO] = hub.repos[TINY_REPO]
        weights = hub.repos[TINY_REPO].files["model.safetensors"]
        part = tmp_path / "w.part"
        client = httpx.Client(verify=ssl.create_default_context(cafile=str(cert)))
        seen = _fetch(tls_hub, part, client=client)
    finally:
        tls_hub.stop()
    assert part.read_bytes() == weights.source.read_bytes()
    assert sum(seen) == weights.size
    assert socket_reads
