"""Error and cancel paths of the generation service at the handler level (fake engine)."""

from __future__ import annotations

import asyncio
import json

from tests.helpers import fake_backend
from tests.helpers.sse import sse_pairs
from tests.inprocess.conftest import AppClient


async def test_engine_failing_mid_stream_ends_native_stream_with_error_event(
    app_client: AppClient,
) -> None:
    body = {"model": "fake-000", "prompt": "fail-mid now", "stream": True}
    response = await app_client.http.post("/api/v1/models/generate", json=body)
    assert response.status_code == 200
    events = sse_pairs(response.text)
    assert [name for name, _ in events] == ["token", "token", "error"]
    error = json.loads(events[-1][1])["error"]
    assert error["code"] == "generation_failed"
    # _as_app_error: an untyped engine exception becomes GenerationFailed naming it.
    assert "RuntimeError: engine exploded" in error["message"]
    assert "fake-000" in error["message"]


async def test_engine_failing_mid_stream_on_v1_sends_error_then_done(app_client: AppClient):
    body = {
        "model": "fake-000",
        "messages": [{"role": "user", "content": "fail-mid now"}],
        "stream": True,
    }
    response = await app_client.http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    data = [d for _, d in sse_pairs(response.text)]
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2])["error"]["code"] == "generation_failed"
    # No final chunk with a finish_reason: the stream failed.
    chunks = [json.loads(d) for d in data[:-2]]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


async def test_typed_engine_error_keeps_its_type(app_client: AppClient) -> None:
    """_as_app_error passes an AppError through: its status and type reach the client."""
    body = {"model": "fake-000", "prompt": "fail-typed now"}
    response = await app_client.http.post("/api/v1/models/generate", json=body)
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"
    untyped = await app_client.http.post(
        "/api/v1/models/generate", json={"model": "fake-000", "prompt": "fail-mid"}
    )
    assert untyped.status_code == 500
    assert untyped.json()["error"]["code"] == "generation_failed"


async def test_closing_the_stream_cancels_the_engine_and_frees_the_slot(app_client: AppClient):
    generation = app_client.app.state.generation
    job = await generation.prepare("fake-000", _params(), prompt="slow")
    events = generation.stream(job)
    first = await anext(events)
    assert first.text == "x"
    assert job.model.busy()
    await events.aclose()  # what sse-starlette does when the client goes away
    for _ in range(100):
        if job.request.request_id in fake_backend.CANCELLED:
            break
        await asyncio.sleep(0.01)
    assert job.request.request_id in fake_backend.CANCELLED
    for _ in range(100):
        if not job.model.busy():
            break
        await asyncio.sleep(0.01)
    assert not job.model.busy()
    assert generation.admission.total() == 0


async def test_run_stops_when_the_client_disconnects(app_client: AppClient) -> None:
    generation = app_client.app.state.generation
    job = await generation.prepare("fake-000", _params(), prompt="slow")

    async def gone() -> bool:
        return True

    outcome = await generation.run(job, gone)
    assert outcome.finish_reason == "cancelled"
    assert outcome.completion_tokens >= 1


def _params():
    from app.services.generation import ParamsInput

    return ParamsInput(max_tokens=50)
