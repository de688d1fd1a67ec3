"""No request handler blocks the event loop: with 200 model folders, the listings the UI polls
and a request that names no model run their blocking work in worker threads.

asyncio's debug mode logs every callback (task step) that holds the loop longer than
``slow_callback_duration``; the test fails on any such step during the requests (httpx's
ASGITransport runs the app in this test's own task, so every handler step counts).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from tests.inprocess.conftest import in_process_app, make_fake_models

# The target is ~50 ms; on a busy shared CI machine ordinary steps reach 20-50 ms, so the test
# fails at 100 ms. A scan of these 200 folders on the loop holds it for 0.4-1 s here.
LIMIT_S = 0.1
ROUTES = [
    "/api/v1/models",
    "/v1/models",
    "/v1/models/fake-000",
    "/api/ps",
    "/api/tags",
    "/api/v1/system",
]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_handlers_do_not_block_the_loop(tmp_path: Path) -> None:
    models = tmp_path / "models"
    # Enough files that one scan on the loop takes well over LIMIT_S.
    make_fake_models(models, 200, files_per_model=30)
    async with in_process_app(models, tmp_path / "data") as client:
        store = client.app.state.model_store
        await client.http.get("/api/v1/system")  # first engine imports happen in a thread too
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = LIMIT_S
        # Our own handler on asyncio's logger: the app's logging set-up replaces root handlers.
        collect = _Collect()
        logging.getLogger("asyncio").addHandler(collect)
        try:
            for _ in range(2):
                for route in ROUTES:
                    store.invalidate()  # worst case: every request finds the cache cold
                    response = await client.http.get(route)
                    assert response.status_code == 200, (route, response.text)
                store.invalidate()
                response = await client.http.post(
                    "/api/v1/models/generate", json={"prompt": "hello"}
                )
                assert response.status_code == 200, response.text
        finally:
            loop.set_debug(False)
            logging.getLogger("asyncio").removeHandler(collect)
    slow = [m for m in collect.messages if "took" in m]
    assert not slow, "the event loop was blocked:\n" + "\n".join(slow)
