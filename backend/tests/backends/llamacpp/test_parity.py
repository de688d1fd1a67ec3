"""The same tiny model through Transformers (HF folder) and llama.cpp (its GGUF conversion):
same prompt, seed and greedy settings; both stream, stop on a stop string, cancel when the
client leaves, and report usage and timings."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.helpers.server import ServerProcess

ENGINES = [("tiny", "transformers"), ("tiny-f16.gguf", "llamacpp")]
PROMPT = "def foo("


def _generate(server: ServerProcess, model: str, **fields) -> dict:
    body = {
        "model": model,
        "prompt": PROMPT,
        "max_tokens": 24,
        "temperature": 0,
        "seed": 7,
        **fields,
    }
    response = httpx.post(f"{server.url}/api/v1/models/generate", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def _stream(server: ServerProcess, model: str, **fields) -> tuple[list[str], dict]:
    body = {
        "model": model,
        "prompt": PROMPT,
        "max_tokens": 24,
        "temperature": 0,
        "seed": 7,
        "stream": True,
        **fields,
    }
    tokens, done, name = [], None, None
    with httpx.stream(
        "POST", f"{server.url}/api/v1/models/generate", json=body, timeout=120
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                if name == "token":
                    tokens.append(data["text"])
                elif name == "done":
                    done = data
                assert name != "error", data
    assert done is not None
    return tokens, done


def _loaded(server: ServerProcess, model: str) -> dict:
    loaded = httpx.get(f"{server.url}/api/v1/models/loaded", timeout=10).json()
    return next(m for m in loaded if m["id"] == model)


@pytest.mark.parametrize(("model", "backend"), ENGINES)
def test_streams_with_usage_and_timings(
    backends_server: ServerProcess, model: str, backend: str
) -> None:
    tokens, done = _stream(backends_server, model)
    assert len(tokens) > 3, "tokens should arrive one step at a time"
    assert "".join(tokens) == done["text"]
    assert done["usage"]["completion_tokens"] == 24
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"] + 24
    assert done["finish_reason"] == "length"
    timings = done["timings"]
    assert timings["backend"] == backend
    assert timings["backend_reason"]  # auto, or the fallback an earlier test asked for
    assert timings["ttft_ms"] > 0 and timings["tokens_per_second"] > 0
    assert timings["total_ms"] >= timings["ttft_ms"]


@pytest.mark.parametrize(("model", "backend"), ENGINES)
def test_greedy_is_repeatable_and_stops_on_a_stop_string(
    backends_server: ServerProcess, model: str, backend: str
) -> None:
    first = _generate(backends_server, model)
    again = _generate(backends_server, model)
    assert first["text"] == again["text"]
    text = first["text"]
    assert len(text.strip()) > 4, f"{backend} wrote nothing useful: {text!r}"
    # A stop string taken from the middle of the greedy text: generation ends right before it.
    cut = len(text) // 2
    stop = text[cut : cut + 3]
    assert stop.strip(), "pick a visible stop string"
    expected = text[: text.index(stop)]
    stopped = _generate(backends_server, model, stop=[stop])
    assert stopped["finish_reason"] == "stop"
    assert stopped["text"] == expected
    assert stopped["usage"]["completion_tokens"] < first["usage"]["completion_tokens"]
    tokens, done = _stream(backends_server, model, stop=[stop])
    assert "".join(tokens) == expected and done["finish_reason"] == "stop"


def test_both_engines_write_the_same_greedy_text(backends_server: ServerProcess) -> None:
    """Same weights, same prompt, greedy: the f16 GGUF follows the fp32 HF model here."""
    hf = _generate(backends_server, "tiny")["text"]
    gguf = _generate(backends_server, "tiny-f16.gguf")["text"]
    assert hf[:12] == gguf[:12], (hf, gguf)


@pytest.mark.parametrize(("model", "backend"), ENGINES)
def test_client_disconnect_stops_the_engine(
    backends_server: ServerProcess, model: str, backend: str
) -> None:
    _generate(backends_server, model)  # loaded and warm
    before = _loaded(backends_server, model)["tokens_generated"]
    body = {
        "model": model,
        "prompt": "class Parser:\n",
        "max_tokens": 1000,
        "temperature": 1.0,
        "seed": 11,
        "stream": True,
    }
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST", f"{backends_server.url}/api/v1/models/generate", json=body
        ) as response,
    ):
        seen = 0
        for line in response.iter_lines():
            if line.startswith("data:"):
                seen += 1
                if seen >= 3:
                    break  # leaving closes the connection
    deadline = time.monotonic() + 10
    stats = _loaded(backends_server, model)
    while stats["active_requests"] and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = _loaded(backends_server, model)
    assert stats["active_requests"] == 0, f"{backend} kept generating after the client left"
    stopped_at = stats["tokens_generated"]
    time.sleep(1.0)
    assert _loaded(backends_server, model)["tokens_generated"] == stopped_at
    assert stopped_at - before < 1000, "the whole completion was generated anyway"
