"""The official ``ollama`` Python client against our Ollama-compatible routes, and our Ollama
backend pointed at a server that speaks them (the session ``server``)."""

from __future__ import annotations

import math
import time

import httpx
import ollama
import pytest

from tests.helpers.server import ServerProcess

GREEDY = {"temperature": 0, "num_predict": 16}


@pytest.fixture
def client(backends_server: ServerProcess) -> ollama.Client:
    return ollama.Client(host=backends_server.url)


def test_list_and_show(client: ollama.Client) -> None:
    names = {m.model for m in client.list().models}
    assert {"tiny", "tiny-f16.gguf"} <= names
    entry = next(m for m in client.list().models if m.model == "tiny-f16.gguf")
    assert entry.details.format == "gguf" and entry.details.family == "llama"
    assert entry.details.quantization_level == "F16" and entry.size > 0
    shown = client.show("tiny-f16.gguf")
    assert "<|im_start|>" in shown.template
    assert shown.modelinfo["llama.context_length"] > 0
    assert "embedding" in shown.capabilities
    with pytest.raises(ollama.ResponseError) as missing:
        client.show("no-such-model")
    assert missing.value.status_code == 404


def test_chat_not_streamed(client: ollama.Client) -> None:
    messages = [{"role": "user", "content": "def main():"}]
    first = client.chat(model="tiny-f16.gguf", messages=messages, options=GREEDY)
    again = client.chat(model="tiny-f16.gguf:latest", messages=messages, options=GREEDY)
    assert first.done and first.message.role == "assistant"
    assert first.message.content and first.message.content == again.message.content
    assert first.eval_count == 16 and first.done_reason == "length"
    assert first.prompt_eval_count > 0 and first.total_duration > 0


def test_chat_streamed(client: ollama.Client) -> None:
    messages = [{"role": "user", "content": "def main():"}]
    whole = client.chat(model="tiny", messages=messages, options=GREEDY)
    chunks = list(client.chat(model="tiny", messages=messages, options=GREEDY, stream=True))
    assert len(chunks) > 3 and chunks[-1].done and not chunks[0].done
    assert "".join(c.message.content for c in chunks) == whole.message.content
    assert chunks[-1].eval_count == 16


def test_generate_raw_and_stop(client: ollama.Client) -> None:
    full = client.generate(model="tiny-f16.gguf", prompt="def foo(", raw=True, options=GREEDY)
    text = full.response
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    cut = client.generate(
        model="tiny-f16.gguf", prompt="def foo(", raw=True, options={**GREEDY, "stop": [stop]}
    )
    assert cut.response == text[: text.index(stop)] and cut.done_reason == "stop"


def test_embed(client: ollama.Client) -> None:
    result = client.embed(model="tiny-f16.gguf", input=["def foo():", "import os", "def foo():"])
    vectors = result.embeddings
    assert len(vectors) == 3 and len(vectors[0]) == 128
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-3) for v in vectors)
    assert vectors[0] == pytest.approx(vectors[2], abs=1e-5)
    assert vectors[0] != pytest.approx(vectors[1], abs=1e-3)
    single = client.embed(model="tiny-f16.gguf", input="import os")
    assert single.embeddings[0] == pytest.approx(vectors[1], abs=1e-5)


def test_ps_and_keep_alive_unload(client: ollama.Client) -> None:
    client.generate(model="tiny-f16.gguf", prompt="")  # an empty prompt loads the model
    running = {m.model: m for m in client.ps().models}
    assert "tiny-f16.gguf" in running and running["tiny-f16.gguf"].context_length == 1024
    client.generate(model="tiny-tied-f16.gguf", prompt="", keep_alive="10m")
    tied = {m.model: m for m in client.ps().models}["tiny-tied-f16.gguf"]
    # expires_at is the manager's idle deadline: about ten minutes from now, not a year.
    left = tied.expires_at.timestamp() - time.time()
    assert 500 < left <= 601, left
    gone = client.generate(model="tiny-tied-f16.gguf", prompt="", keep_alive=0)
    assert gone.done_reason == "unload"
    assert "tiny-tied-f16.gguf" not in {m.model for m in client.ps().models}


def test_pull_of_a_local_model_succeeds_at_once(client: ollama.Client) -> None:
    events = list(client.pull("tiny", stream=True))
    assert events[-1].status == "success"


def test_errors_have_ollama_shape(backends_server: ServerProcess) -> None:
    response = httpx.post(
        f"{backends_server.url}/api/chat",
        json={"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
        timeout=30,
    )
    assert response.status_code == 404
    assert isinstance(response.json()["error"], str)
    response = httpx.post(
        f"{backends_server.url}/api/generate",
        json={"model": "tiny", "prompt": "x", "context": [1, 2, 3]},
        timeout=30,
    )
    assert response.status_code == 400 and "context" in response.json()["error"]


def test_ollama_backend_against_our_ollama_routes(
    backends_server: ServerProcess, server: ServerProcess
) -> None:
    """``ollama:tiny`` on backends_server goes through the official client to ``server``'s
    /api routes; greedy text matches what ``server`` writes for the same chat."""
    messages = [{"role": "user", "content": "def main():"}]
    direct = ollama.Client(host=server.url).chat(
        model="tiny",
        messages=messages,
        options={
            "temperature": 0,
            "num_predict": 12,
            "top_k": 0,
            "top_p": 1.0,
            "repeat_penalty": 1.0,
        },
    )
    response = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={
            "model": "ollama:tiny",
            "messages": messages,
            "max_tokens": 12,
            "temperature": 0,
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["timings"]["backend"] == "ollama"
    assert data["text"] == direct.message.content
    assert data["usage"]["completion_tokens"] == 12
    assert data["usage"]["prompt_tokens"] == direct.prompt_eval_count
    # Streamed through the OpenAI route too.
    with httpx.stream(
        "POST",
        f"{backends_server.url}/v1/chat/completions",
        json={
            "model": "ollama:tiny",
            "messages": messages,
            "max_tokens": 12,
            "temperature": 0,
            "stream": True,
        },
        timeout=120,
    ) as stream:
        chunks = [line for line in stream.iter_lines() if line.startswith("data:")]
    assert len(chunks) > 4 and chunks[-1] == "data: [DONE]"
    missing = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={"model": "ollama:no-such-model", "prompt": "x"},
        timeout=60,
    )
    assert missing.status_code == 404


def test_models_of_the_ollama_server_are_listed(
    backends_server: ServerProcess, server: ServerProcess
) -> None:
    response = httpx.get(f"{backends_server.url}/api/v1/backends/ollama/models", timeout=60)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["host"] == server.url
    ids = {m["id"] for m in data["models"]}
    assert "ollama:tiny" in ids
    tiny = next(m for m in data["models"] if m["id"] == "ollama:tiny")
    assert tiny["size_bytes"] > 0 and tiny["details"]["family"] == "llama"


def test_no_ollama_server_is_503(server: ServerProcess) -> None:
    """``server`` keeps the default MP_OLLAMA_HOST, where nothing listens in tests."""
    listing = httpx.get(f"{server.url}/api/v1/backends/ollama/models", timeout=60)
    assert listing.status_code == 503
    assert "MP_OLLAMA_HOST" in listing.json()["error"]["message"]
    generate = httpx.post(
        f"{server.url}/api/v1/models/generate",
        json={"model": "ollama:tiny", "prompt": "x"},
        timeout=60,
    )
    assert generate.status_code == 503
    assert generate.json()["error"]["type"] == "backend_unavailable"


def test_keep_alive_sets_the_models_idle_time(
    client: ollama.Client, backends_server: ServerProcess
) -> None:
    client.chat(
        model="tiny-f16.gguf",
        messages=[{"role": "user", "content": "x"}],
        options={"num_predict": 2},
        keep_alive="7m",
    )
    loaded = httpx.get(f"{backends_server.url}/api/v1/models/loaded", timeout=10).json()
    assert next(m for m in loaded if m["id"] == "tiny-f16.gguf")["keep_alive_s"] == 420
    with pytest.raises(ollama.ResponseError):
        client.chat(model="tiny-f16.gguf", messages=[], keep_alive="soon")
