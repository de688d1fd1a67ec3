"""Every error on Ollama's routes in Ollama's shape, ``{"error": "message"}``: request
validation and HTTP errors too, not only the routes' own; ``/api/v1`` keeps OpenAI's."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.server import ServerProcess


def _ollama_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/chat", {"messages": []}, "model is required"),
        ("/api/chat", {"model": "tiny", "messages": "hello"}, "messages"),
        ("/api/generate", {"model": "tiny", "options": {"temperature": "hot"}}, "temperature"),
        ("/api/embed", {"model": "tiny"}, "input"),
        ("/api/embeddings", {"prompt": "x"}, "model is required"),
        ("/api/show", {}, "model is required"),
    ],
)
def test_validation_errors(server: ServerProcess, path: str, body: dict, message: str) -> None:
    response = httpx.post(f"{server.url}{path}", json=body, timeout=30)
    assert message in _ollama_error(response, 400)


def test_bad_json_and_wrong_method(server: ServerProcess) -> None:
    broken = httpx.post(f"{server.url}/api/chat", content=b"{not json", timeout=30)
    assert "not valid JSON" in _ollama_error(broken, 400)
    _ollama_error(httpx.post(f"{server.url}/api/tags", json={}, timeout=30), 405)
    _ollama_error(httpx.get(f"{server.url}/api/no-such-route", timeout=30), 404)


def test_native_api_keeps_the_openai_envelope(server: ServerProcess) -> None:
    response = httpx.post(f"{server.url}/api/v1/models/generate", json={"max_tokens": 0})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
