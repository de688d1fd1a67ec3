"""The remote backend pointed at a second app instance on 127.0.0.1 (the session ``server``):
OpenAI-compatible streaming passes through chunk by chunk, with the peer's usage."""

from __future__ import annotations

import httpx
import pytest
from openai import OpenAI

from tests.helpers.server import ServerProcess


def test_remote_model_streams_through(
    backends_server: ServerProcess, server: ServerProcess
) -> None:
    messages = [{"role": "user", "content": "def main():"}]
    direct = OpenAI(base_url=f"{server.url}/v1", api_key="x").chat.completions.create(
        model="tiny", messages=messages, max_tokens=16, temperature=0
    )
    client = OpenAI(base_url=f"{backends_server.url}/v1", api_key="x")
    stream = client.chat.completions.create(
        model="remote:peer/tiny",
        messages=messages,
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    assert len(pieces) > 3, "the remote stream should pass through token by token"
    assert "".join(pieces) == direct.choices[0].message.content
    assert usage is not None and usage.completion_tokens == 16
    assert usage.prompt_tokens == direct.usage.prompt_tokens
    assert finish == "length"


def test_remote_completion_and_native_route(backends_server: ServerProcess) -> None:
    response = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={
            "model": "remote:peer/tiny",
            "prompt": "import os\n",
            "max_tokens": 8,
            "temperature": 0,
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["timings"]["backend"] == "remote"
    assert data["usage"]["completion_tokens"] == 8


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("remote:nowhere/tiny", 400),  # endpoint not configured
        ("remote:peer/other", 404),  # model not served there
        ("remote:peer", 400),  # malformed id
    ],
)
def test_remote_bad_names(backends_server: ServerProcess, model: str, status: int) -> None:
    response = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={"model": model, "prompt": "x"},
        timeout=60,
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == "model"


def test_remote_replicas_fail_over_and_show_their_state(backends_server: ServerProcess) -> None:
    """An endpoint listing two replicas, one dead: every request is answered by the live one
    (the dead one fails before the first token and hands it over), and the loaded view shows
    both replicas with the dead one's error."""
    for i in range(4):
        response = httpx.post(
            f"{backends_server.url}/v1/chat/completions",
            json={
                "model": "remote:pool/tiny",
                "messages": [{"role": "user", "content": f"count {i}"}],
                "max_tokens": 4,
                "temperature": 0,
            },
            timeout=120,
        )
        assert response.status_code == 200, response.text
        assert response.json()["usage"]["completion_tokens"] == 4
    loaded = httpx.get(f"{backends_server.url}/api/v1/models/loaded", timeout=10).json()
    pool = next(m for m in loaded if m["id"] == "remote:pool/tiny")
    replicas = {r["url"]: r for r in pool["replicas"]}
    assert len(replicas) == 2
    live = next(r for url, r in replicas.items() if "127.0.0.1" in url and r["failures_total"] == 0)
    dead = next(r for r in replicas.values() if r is not live)
    assert live["requests_total"] >= 4 and live["in_flight"] == 0
    assert dead["failures_total"] >= 1 and dead["last_error"]
    assert live["breaker_state"] == "closed"
