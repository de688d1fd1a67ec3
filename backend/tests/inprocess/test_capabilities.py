"""Capabilities are checked in one place (services/generation/capabilities.py) and listed per
backend."""

from __future__ import annotations

from tests.inprocess.conftest import AppClient


async def test_logprobs_on_a_backend_without_them_is_400(app_client: AppClient) -> None:
    completion = await app_client.http.post(
        "/v1/completions", json={"model": "fake-000", "prompt": "hi", "logprobs": 2}
    )
    assert completion.status_code == 400, completion.text
    assert completion.json()["error"]["param"] == "logprobs"
    assert "fake backend does not return logprobs" in completion.json()["error"]["message"]
    chat = await app_client.http.post(
        "/v1/chat/completions",
        json={
            "model": "fake-000",
            "messages": [{"role": "user", "content": "hi"}],
            "logprobs": True,
        },
    )
    assert chat.status_code == 400, chat.text
    assert chat.json()["error"]["param"] == "logprobs"


async def test_json_schema_on_a_backend_without_it_is_400(app_client: AppClient) -> None:
    response = await app_client.http.post(
        "/v1/chat/completions",
        json={
            "model": "fake-000",
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_object"},
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "response_format"
    native = await app_client.http.post(
        "/api/v1/models/generate",
        json={"model": "fake-000", "prompt": "hi", "json_schema": {"type": "object"}},
    )
    assert native.status_code == 400, native.text


async def test_system_lists_capabilities_per_backend(app_client: AppClient) -> None:
    backends = {
        b["name"]: b for b in (await app_client.http.get("/api/v1/system")).json()["backends"]
    }
    assert backends["fake"]["capabilities"] == {
        "chat_template": True,
        "embeddings": False,
        "logprobs": False,
        "json_schema": False,
        "local_tokenizer": True,
    }
    assert backends["transformers"]["capabilities"]["logprobs"] is True
    for backend in backends.values():
        assert (backend["capabilities"] is None) == (not backend["available"])
