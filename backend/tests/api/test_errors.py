"""Bad input gets a 4xx with the OpenAI error envelope, never a 500 or a traceback."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.helpers.server import ServerProcess

CHAT = [{"role": "user", "content": "hello"}]


def _envelope(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize(
    ("payload", "status", "param"),
    [
        ({"model": "no-such-model", "messages": CHAT}, 404, "model"),
        ({"model": "tiny", "messages": CHAT, "max_tokens": -1}, 400, "max_tokens"),
        ({"model": "tiny", "messages": CHAT, "max_tokens": 0}, 400, "max_tokens"),
        ({"model": "tiny", "messages": CHAT, "temperature": 99}, 400, "temperature"),
        ({"model": "tiny", "messages": CHAT, "top_p": 0}, 400, "top_p"),
        ({"model": "tiny", "messages": []}, 400, "messages"),
        ({"model": "tiny"}, 400, "messages"),
        ({"model": "tiny", "messages": CHAT, "n": 2}, 400, "n"),
        ({"model": "tiny", "messages": CHAT, "stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
        ({"model": "tiny", "messages": [{"role": "wizard", "content": "x"}]}, 400, None),
        ({"model": "tiny", "messages": CHAT, "max_tokens": 10**9}, 400, "max_tokens"),
        ({"model": "tiny", "messages": CHAT, "backend": "nope"}, 400, "backend"),
    ],
)
def test_chat_bad_input(server: ServerProcess, payload: dict, status: int, param) -> None:
    response = httpx.post(f"{server.url}/v1/chat/completions", json=payload, timeout=60)
    assert response.status_code == status, response.text
    error = _envelope(response)
    if param:
        assert error["param"] is not None and error["param"].startswith(param), error


def test_prompt_over_context_window_names_both_numbers(server: ServerProcess) -> None:
    long_text = "value = compute(x, y)\n" * 800  # far over tiny's 1024-token window
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "tiny", "messages": [{"role": "user", "content": long_text}]},
        timeout=60,
    )
    assert response.status_code == 400
    error = _envelope(response)
    assert error["code"] == "context_length_exceeded"
    assert "1024" in error["message"]
    # The prompt's own token count is in the message too.
    assert any(word.isdigit() and int(word) > 1024 for word in error["message"].split())


def test_completion_over_remaining_context_is_refused_not_truncated(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/v1/completions",
        json={"model": "tiny", "prompt": "x = 1\n", "max_tokens": 1024},
        timeout=60,
    )
    assert response.status_code == 400
    assert _envelope(response)["code"] == "context_length_exceeded"


def test_malformed_json(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=b'{"model": "tiny", "messages": [',
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert _envelope(response)["code"] == "invalid_json"


def test_native_generate_bad_input(server: ServerProcess) -> None:
    url = f"{server.url}/api/v1/models/generate"
    both = httpx.post(url, json={"model": "tiny", "prompt": "a", "messages": CHAT}, timeout=30)
    assert both.status_code == 400 and _envelope(both)
    missing = httpx.post(url, json={"model": "ghost", "prompt": "a"}, timeout=30)
    assert missing.status_code == 404 and _envelope(missing)["code"] == "model_not_found"


def test_unknown_route_and_model_lookup(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/v1/nothing-here", timeout=10).status_code == 404
    response = httpx.get(f"{server.url}/v1/models/ghost", timeout=10)
    assert response.status_code == 404 and _envelope(response)


def test_openai_sdk_raises_typed_errors(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(model="ghost", messages=CHAT)
    assert "ghost" in str(not_found.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="tiny", messages=CHAT, temperature=99)
