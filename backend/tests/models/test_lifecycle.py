"""Model lifecycle seen through /api/v1/models/loaded: LRU eviction by count and by memory
budget, keep-alive expiry (setting and per request), and one load for concurrent requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess

NAMES = ("tiny-a", "tiny-b", "tiny-c", "tiny-d")


def _models_with_aliases(root: Path, tiny_model_dir: Path) -> Path:
    """The tiny model under several names (symbolic links), so each is a separate model."""
    models = root / "models"
    models.mkdir()
    for name in NAMES:
        (models / name).symlink_to(tiny_model_dir, target_is_directory=True)
    return models


def _server(root: Path, tiny_model_dir: Path, **env: str) -> ServerProcess:
    models = _models_with_aliases(root, tiny_model_dir)
    return ServerProcess(
        {"MP_MODELS_DIR": str(models), "MP_DATA_DIR": str(root / "data"), "MP_THREADS": "1", **env},
        log_path=root / "server.log",
    ).start()


@pytest.fixture(scope="module")
def lru_app(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> Iterator[ServerProcess]:
    proc = _server(
        tmp_path_factory.mktemp("lru"),
        tiny_model_dir,
        MP_MAX_LOADED_MODELS="2",
        MP_KEEP_ALIVE_SECONDS="300",
    )
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def budget_app(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> Iterator[ServerProcess]:
    # Room for one tiny model (its size on disk is the estimate before loading), not two.
    size = sum(p.stat().st_size for p in tiny_model_dir.iterdir() if p.is_file())
    proc = _server(
        tmp_path_factory.mktemp("budget"),
        tiny_model_dir,
        MP_MAX_LOADED_MODELS="0",
        MP_MODEL_MEMORY_BUDGET_BYTES=str(int(size * 1.2)),
    )
    yield proc
    proc.stop()


def _loaded(app: ServerProcess) -> dict[str, dict]:
    return {m["id"]: m for m in httpx.get(f"{app.url}/api/v1/models/loaded", timeout=10).json()}


def _unload_all(app: ServerProcess) -> None:
    for name in _loaded(app):
        httpx.post(f"{app.url}/api/v1/models/{name}/unload", timeout=60)


def _generate(app: ServerProcess, model: str, **extra: object) -> dict:
    r = httpx.post(
        f"{app.url}/api/v1/models/generate",
        json={"model": model, "prompt": "Hello", "max_tokens": 3, "temperature": 0, **extra},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _load(app: ServerProcess, model: str) -> dict:
    r = httpx.post(f"{app.url}/api/v1/models/{model}/load", timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_least_recently_used_model_is_evicted(lru_app: ServerProcess):
    _unload_all(lru_app)
    _load(lru_app, "tiny-a")
    _load(lru_app, "tiny-b")
    _generate(lru_app, "tiny-a")  # tiny-a is now the most recently used
    assert set(_loaded(lru_app)) == {"tiny-a", "tiny-b"}
    _generate(lru_app, "tiny-c")  # over max_loaded_models=2: tiny-b goes
    assert set(_loaded(lru_app)) == {"tiny-a", "tiny-c"}


def test_loaded_shows_idle_expiry_from_setting(lru_app: ServerProcess):
    _unload_all(lru_app)
    _generate(lru_app, "tiny-a")
    info = _loaded(lru_app)["tiny-a"]
    assert info["keep_alive_s"] == 300
    assert info["expires_at"] == pytest.approx(info["last_used"] + 300)


def test_per_request_keep_alive_unloads_idle_model(lru_app: ServerProcess):
    _unload_all(lru_app)
    _generate(lru_app, "tiny-b", keep_alive="1s")
    info = _loaded(lru_app).get("tiny-b")
    if info is not None:  # may already be gone on a slow machine
        assert info["keep_alive_s"] == 1 and info["expires_at"] <= info["last_used"] + 1.001
    deadline = time.monotonic() + 60
    while "tiny-b" in _loaded(lru_app):
        assert time.monotonic() < deadline, "keep-alive did not unload the idle model"
        time.sleep(0.2)
    # keep_alive=-1 keeps it with no expiry
    _generate(lru_app, "tiny-b", keep_alive=-1)
    assert _loaded(lru_app)["tiny-b"]["expires_at"] is None


def test_concurrent_requests_load_a_model_once(lru_app: ServerProcess):
    _unload_all(lru_app)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _generate(lru_app, "tiny-d"), range(2)))
    loads = [r["timings"]["load_ms"] for r in results]
    assert sum(1 for ms in loads if ms > 0) == 1, loads
    assert list(_loaded(lru_app)).count("tiny-d") == 1


def test_memory_budget_evicts_least_recently_used(budget_app: ServerProcess):
    _load(budget_app, "tiny-a")
    assert set(_loaded(budget_app)) == {"tiny-a"}
    _generate(budget_app, "tiny-b")
    assert set(_loaded(budget_app)) == {"tiny-b"}


def test_bad_keep_alive_is_400(lru_app: ServerProcess):
    r = httpx.post(
        f"{lru_app.url}/api/v1/models/generate",
        json={"model": "tiny-a", "prompt": "Hi", "keep_alive": "soon"},
        timeout=30,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "keep_alive"
