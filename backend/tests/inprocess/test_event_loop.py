"""No request handler blocks the event loop: with 200 model folders, the listings the UI polls
and a request that names no model run their blocking work in worker threads.

Every callback the loop runs (each task step of the handlers: httpx's ASGITransport runs the
app in this test's own task) is timed twice while the requests run:

- the loop thread's CPU time (``time.thread_time``, user + system, so file-system calls such
  as a folder scan count) must stay under 50 ms. CPU time does not grow while the thread waits
  for a core, so a busy shared machine does not make an innocent step look slow; a scan of
  these 200 folders on the loop costs 0.3-1 s of it;
- wall time must stay under 0.5 s, which catches a handler that *waits* on the loop (a
  ``subprocess.run``, ``time.sleep``, a blocking socket) without using CPU.

The garbage collector is paused while the requests run: late in the full suite a full
collection of everything earlier tests left behind costs ~0.8 s and lands in whichever callback
allocates at that moment, which is not work a handler does.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.inprocess.conftest import in_process_app, make_fake_models

CPU_LIMIT_S = 0.05
WALL_LIMIT_S = 0.5
ROUTES = [
    "/api/v1/models",
    "/v1/models",
    "/v1/models/fake-000",
    "/api/ps",
    "/api/tags",
    "/api/v1/system",
]


@contextmanager
def _timed_callbacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every loop callback over the limits, as "cpu=..s wall=..s <callback>"."""
    slow: list[str] = []
    timing = [True]
    original = asyncio.events.Handle._run

    def timed_run(handle: asyncio.Handle) -> None:
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        original(handle)
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        if timing[0] and (cpu > CPU_LIMIT_S or wall > WALL_LIMIT_S):
            slow.append(f"cpu={cpu:.3f}s wall={wall:.3f}s {handle!r}")

    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    monkeypatch.setattr(asyncio.events.Handle, "_run", timed_run)
    try:
        yield slow
    finally:
        # This exit runs inside a timed step (the test's own): stop counting before the
        # collector, held back until now, runs.
        timing[0] = False
        monkeypatch.setattr(asyncio.events.Handle, "_run", original)
        if gc_was_enabled:
            gc.enable()


async def _exercise(client: Any) -> None:
    store = client.app.state.model_store
    for _ in range(2):
        for route in ROUTES:
            store.invalidate()  # worst case: every request finds the cache cold
            response = await client.http.get(route)
            assert response.status_code == 200, (route, response.text)
        store.invalidate()
        response = await client.http.post("/api/v1/models/generate", json={"prompt": "hello"})
        assert response.status_code == 200, response.text


async def test_handlers_do_not_block_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    # Enough files that one scan on the loop costs well over CPU_LIMIT_S.
    make_fake_models(models, 200, files_per_model=30)
    async with in_process_app(models, tmp_path / "data") as client:
        # First engine imports happen in a thread too (the GPU probe may still be importing).
        assert (await client.http.get("/api/v1/system")).status_code == 200
        with _timed_callbacks(monkeypatch) as slow:
            await _exercise(client)
    assert not slow, "the event loop was blocked:\n" + "\n".join(slow)


async def test_the_probe_sees_a_scan_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe can fail: the same requests with the folder scan moved onto the loop."""
    models = tmp_path / "models"
    make_fake_models(models, 200, files_per_model=30)
    async with in_process_app(models, tmp_path / "data") as client:
        store = client.app.state.model_store

        async def scan_on_the_loop() -> Any:
            return store.scan()

        monkeypatch.setattr(store, "scan_async", scan_on_the_loop)
        await client.http.get("/api/v1/system")
        with _timed_callbacks(monkeypatch) as slow:
            await _exercise(client)
    assert any("cpu=" in line for line in slow), "a scan on the loop went unnoticed"
