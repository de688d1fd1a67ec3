"""One busy-model policy (409 on demand, never kill a stream) and loads that never wait on each
other, on the in-process app with the fake engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.backends.registry import BACKENDS
from app.services.generation import ParamsInput
from tests.helpers import fake_backend
from tests.inprocess.conftest import AppClient, in_process_app, make_fake_models


async def _streaming(app_client: AppClient, model: str):
    """A generation that keeps streaming until closed, and the task consuming it."""
    generation = app_client.app.state.generation
    job = await generation.prepare(model, ParamsInput(max_tokens=50), prompt="slow")
    events = generation.stream(job)
    await anext(events)
    return job, events


async def test_busy_model_is_never_unloaded_on_demand(app_client: AppClient) -> None:
    job, events = await _streaming(app_client, "fake-000")
    http = app_client.http
    try:
        unload = await http.post("/api/v1/models/fake-000/unload")
        assert unload.status_code == 409, unload.text
        assert "generating for another request" in unload.json()["error"]["message"]
        delete = await http.delete("/api/v1/models/fake-000")
        assert delete.status_code == 409, delete.text
        # Ollama's keep_alive 0 unload: 409 in Ollama's own error format.
        ollama = await http.post("/api/generate", json={"model": "fake-000", "keep_alive": 0})
        assert ollama.status_code == 409, ollama.text
        assert "generating" in ollama.json()["error"]
        # The same model asked for on another backend.
        BACKENDS["fake2"] = fake_backend.ENTRY.__class__(
            **{**fake_backend.ENTRY.__dict__, "name": "fake2"}
        )
        try:
            other = await http.post(
                "/api/v1/models/generate",
                json={"model": "fake-000", "prompt": "hi", "backend": "fake2"},
            )
        finally:
            BACKENDS.pop("fake2", None)
        assert other.status_code == 409, other.text
        # The stream survived all of it.
        assert (await anext(events)).text == "x"
        assert app_client.app.state.model_manager.get_loaded("fake-000") is job.model
    finally:
        await events.aclose()
    for _ in range(200):
        if not job.model.busy():
            break
        await asyncio.sleep(0.01)
    assert (await http.post("/api/v1/models/fake-000/unload")).status_code == 204


async def test_loads_of_different_models_do_not_wait_on_each_other(tmp_path: Path) -> None:
    make_fake_models(tmp_path / "models", 1)
    make_fake_models(tmp_path / "slow", 1)
    (tmp_path / "slow" / "fake-000").rename(tmp_path / "models" / "slow-load-2")
    async with in_process_app(tmp_path / "models", tmp_path / "data") as client:
        manager = client.app.state.model_manager
        finished: list[str] = []

        async def load(model: str) -> None:
            await manager.get(model, reserve=False)
            finished.append(model)

        slow = asyncio.create_task(load("slow-load-2"))
        await asyncio.sleep(0.2)  # the slow load is under way
        await load("fake-000")
        assert finished == ["fake-000"], "a quick load waited for a slow one"
        await slow
        assert finished == ["fake-000", "slow-load-2"]


async def test_a_load_past_its_timeout_is_504_and_the_next_one_works(tmp_path: Path) -> None:
    make_fake_models(tmp_path / "models", 1)
    (tmp_path / "models" / "fake-000").rename(tmp_path / "models" / "slow-load-2")
    make_fake_models(tmp_path / "models", 1)
    async with in_process_app(
        tmp_path / "models", tmp_path / "data", model_load_timeout_s=0.3
    ) as client:
        slow = await client.http.post(
            "/api/v1/models/generate", json={"model": "slow-load-2", "prompt": "hi"}
        )
        assert slow.status_code == 504, slow.text
        assert slow.json()["error"]["code"] == "model_load_timeout"
        assert "MP_MODEL_LOAD_TIMEOUT_S" in slow.json()["error"]["message"]
        assert client.app.state.model_manager.get_loaded("slow-load-2") is None
        quick = await client.http.post(
            "/api/v1/models/generate", json={"model": "fake-000", "prompt": "hi"}
        )
        assert quick.status_code == 200, quick.text
