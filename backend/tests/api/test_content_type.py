"""JSON bodies without a JSON Content-Type: read as JSON on the compatibility APIs (Ollama's
``/api/*``, ``/v1``), as Ollama and llama.cpp read them; the native ``/api/v1`` stays strict;
the browser guard still judges the original label."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.helpers.server import ServerProcess

FORM = "application/x-www-form-urlencoded"  # what `curl -d` sends
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "def f():"}], "stream": False}
OPTIONS = {"num_predict": 4, "temperature": 0}


def _post(server: ServerProcess, path: str, body: dict, content_type: str | None, **headers):
    if content_type is not None:
        headers["content-type"] = content_type
    # httpx labels nothing when given raw bytes: the request carries only what is set here.
    return httpx.post(
        f"{server.url}{path}", content=json.dumps(body).encode(), headers=headers, timeout=60
    )


@pytest.mark.parametrize("content_type", [None, FORM, "text/plain"])
def test_ollama_routes_read_any_body_as_json(server: ServerProcess, content_type) -> None:
    chat = _post(server, "/api/chat", {**CHAT, "options": OPTIONS}, content_type)
    assert chat.status_code == 200, chat.text
    assert chat.json()["message"]["role"] == "assistant" and chat.json()["eval_count"] == 4
    generate = _post(
        server,
        "/api/generate",
        {"model": "tiny", "prompt": "import", "stream": False, "options": OPTIONS},
        content_type,
    )
    assert generate.status_code == 200, generate.text
    assert generate.json()["done"] is True
    shown = _post(server, "/api/show", {"model": "tiny"}, content_type)
    assert shown.status_code == 200, shown.text


@pytest.mark.parametrize("content_type", [None, FORM])
def test_openai_routes_read_any_body_as_json(server: ServerProcess, content_type) -> None:
    response = _post(
        server, "/v1/chat/completions", {**CHAT, "max_tokens": 3, "temperature": 0}, content_type
    )
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["completion_tokens"] == 3


def test_native_api_keeps_the_strict_label(server: ServerProcess) -> None:
    response = _post(server, "/api/v1/models/generate", {"prompt": "a", "max_tokens": 2}, None)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_cross_site_form_post_to_ollama_is_still_refused(server: ServerProcess) -> None:
    response = _post(
        server, "/api/chat", {**CHAT, "options": OPTIONS}, FORM, origin="http://evil.example"
    )
    assert response.status_code == 403, response.text
