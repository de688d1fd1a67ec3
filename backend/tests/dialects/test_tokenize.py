"""/tokenize and /detokenize (vLLM's shapes) on Transformers and llama.cpp."""

from __future__ import annotations

import httpx
import pytest

from tests.dialects.conftest import MODELS
from tests.helpers.server import ServerProcess


@pytest.mark.parametrize("model", MODELS)
def test_round_trip_and_counts_match_generation(dialect_server: ServerProcess, model) -> None:
    url = dialect_server.url
    tok = httpx.post(
        f"{url}/tokenize",
        json={"model": model, "prompt": "def main():", "add_special_tokens": False},
        timeout=60,
    ).json()
    assert tok["count"] == len(tok["tokens"]) > 0
    assert tok["max_model_len"] == 512 if model.endswith(".gguf") else tok["max_model_len"] > 0
    back = httpx.post(
        f"{url}/detokenize", json={"model": model, "tokens": tok["tokens"]}, timeout=60
    ).json()
    assert back["prompt"].strip() == "def main():"
    messages = [{"role": "user", "content": "hello there"}]
    count = httpx.post(
        f"{url}/tokenize", json={"model": model, "messages": messages}, timeout=60
    ).json()["count"]
    chat = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": messages, "max_tokens": 1},
        timeout=60,
    ).json()
    assert count == chat["usage"]["prompt_tokens"]


def test_bad_input(dialect_server: ServerProcess) -> None:
    url = dialect_server.url
    both = httpx.post(
        f"{url}/tokenize",
        json={"prompt": "a", "messages": [{"role": "user", "content": "a"}]},
        timeout=30,
    )
    assert both.status_code == 400 and both.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.post(f"{url}/tokenize", json={"model": "nope", "prompt": "a"}, timeout=30)
    assert missing.status_code == 404
    for model in MODELS:
        out = httpx.post(f"{url}/detokenize", json={"model": model, "tokens": [10**9]}, timeout=30)
        assert out.status_code == 400 and out.json()["error"]["param"] == "tokens"
