"""Refused download requests: 4xx with the error envelope, and nothing written anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.downloads.conftest import GATED_REPO, TINY_REPO, app_env
from tests.helpers.hub_server import HubServer
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def full_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("full")


@pytest.fixture(scope="module")
def full_app(hub: HubServer, full_root: Path) -> Iterator[ServerProcess]:
    """The app with a simulated disk of 1,000 free bytes."""
    env = app_env(hub, full_root, MP_DOWNLOAD_FREE_SPACE_BYTES="1000")
    proc = ServerProcess(env, log_path=full_root / "server.log").start()
    yield proc
    proc.stop()


def _snapshot(root: Path) -> set[str]:
    skip = ("data", "hf-home", "server.log")
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.relative_to(root).parts[0] not in skip
    }


def _error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


BAD_REQUESTS = [
    ({"repo_id": "nobody/does-not-exist"}, 404, "repo_id"),
    ({"repo_id": GATED_REPO}, 403, "repo_id"),
    ({"repo_id": TINY_REPO, "files": ["../evil.txt"]}, 400, "files"),
    ({"repo_id": TINY_REPO, "files": ["/etc/passwd"]}, 400, "files"),
    ({"repo_id": TINY_REPO, "files": ["sub/../../x"]}, 400, "files"),
    ({"repo_id": TINY_REPO, "files": ["missing.bin"]}, 404, "files"),
    ({"repo_id": TINY_REPO, "name": "../escape"}, 400, "name"),
    ({"repo_id": TINY_REPO, "name": ".hidden"}, 400, "name"),
    ({"repo_id": "../etc"}, 400, None),
    ({"repo_id": TINY_REPO, "allow_patterns": ["*.nothing"]}, 400, "allow_patterns"),
    ({"url": "file:///etc/passwd"}, 400, "url"),
    ({"url": "ftp://127.0.0.1/model.gguf"}, 400, "url"),
    ({"url": "http://127.0.0.1:1/model.bin"}, 400, "url"),
    ({"repo_id": TINY_REPO, "url": "http://127.0.0.1/x.gguf"}, 400, None),
    ({}, 400, None),
]


@pytest.mark.parametrize(("body", "status", "param"), BAD_REQUESTS)
def test_bad_download_requests_are_refused(
    full_app: ServerProcess, full_root: Path, body: dict, status: int, param: str | None
):
    before = _snapshot(full_root)
    error = _error(httpx.post(f"{full_app.url}/api/v1/downloads", json=body, timeout=30), status)
    if param:
        assert error["param"] == param, error
    assert _snapshot(full_root) == before
    assert httpx.get(f"{full_app.url}/api/v1/downloads", timeout=10).json()["data"] == []


def test_disk_full_fails_before_starting(hub: HubServer, full_app: ServerProcess, full_root: Path):
    hub.reset_counters()
    error = _error(
        httpx.post(f"{full_app.url}/api/v1/downloads", json={"repo_id": TINY_REPO}, timeout=30), 507
    )
    assert error["code"] == "insufficient_storage"
    assert "Not enough disk space" in error["message"]
    assert not any(hub.bytes_sent.values()), "bytes were fetched although the disk is full"
    assert list((full_root / "models").iterdir()) == []
    assert httpx.get(f"{full_app.url}/api/v1/downloads", timeout=10).json()["data"] == []


def test_unknown_jobs_and_models_are_404(full_app: ServerProcess):
    for method, path in [
        ("GET", "/api/v1/downloads/nope"),
        ("POST", "/api/v1/downloads/nope/cancel"),
        ("POST", "/api/v1/downloads/nope/resume"),
        ("DELETE", "/api/v1/downloads/nope"),
        ("GET", "/api/v1/downloads/nope/events"),
        ("DELETE", "/api/v1/models/nope"),
        ("DELETE", "/api/v1/models/..%2F..%2Fetc"),
    ]:
        r = httpx.request(method, f"{full_app.url}{path}", timeout=10)
        assert r.status_code == 404, (method, path, r.text)
        assert "error" in r.json()


def test_catalog_reports_hub_online_and_finds_repos(full_app: ServerProcess):
    catalog = httpx.get(f"{full_app.url}/api/v1/models/catalog", params={"q": "tiny"}, timeout=30)
    assert catalog.status_code == 200, catalog.text
    body = catalog.json()
    assert body["hub"] == "online"
    hub_ids = [e["repo"] for e in body["data"] if e["source"] == "hub"]
    assert TINY_REPO in hub_ids


def test_bad_name_is_refused_even_when_the_hub_is_unreachable(
    tmp_path: Path, hub: HubServer
) -> None:
    """A traversal name is the client's error (400), checked before any Hub lookup."""
    env = app_env(hub, tmp_path, HF_ENDPOINT="http://127.0.0.1:9")  # nothing listens there
    proc = ServerProcess(env, log_path=tmp_path / "server.log").start()
    try:
        response = httpx.post(
            f"{proc.url}/api/v1/downloads",
            json={"repo_id": TINY_REPO, "name": "../../escape"},
            timeout=60,
        )
        assert _error(response, 400)["param"] == "name"
    finally:
        proc.stop()
