"""The native API: generate (JSON and SSE), models, system, health."""

from __future__ import annotations

import json

import httpx

from tests.helpers.server import ServerProcess


def test_health_and_system(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/api/v1/health", timeout=10).json()["status"] == "ok"
    system = httpx.get(f"{server.url}/api/v1/system", timeout=30).json()
    assert system["cpu_cores"] >= 1 and system["memory_total_bytes"] > 0
    transformers = next(b for b in system["backends"] if b["name"] == "transformers")
    assert transformers["available"] is True
    # The embedded default: nothing outside this process.
    assert system["deployment"] == {
        "database": "sqlite",
        "redis": False,
        "jobs": "in-process",
        "runs_jobs": True,
        "workers": None,
        "vector_store": "embedded",
        "shared_dir": system["data_dir"],
    }


def test_generate_chat_json(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/models/generate",
        json={
            "model": "tiny",
            "messages": [{"role": "user", "content": "import json"}],
            "system": "Write code.",
            "max_tokens": 16,
            "temperature": 0,
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "tiny"
    assert body["finish_reason"] in ("stop", "length")
    assert body["usage"]["completion_tokens"] >= 1
    timings = body["timings"]
    assert timings["ttft_ms"] > 0 and timings["total_ms"] >= timings["ttft_ms"]
    assert timings["backend"] == "transformers"


def test_generate_stream_events(server: ServerProcess) -> None:
    payload = {"prompt": "def add(a, b):\n", "max_tokens": 20, "temperature": 0, "stream": True}
    events: list[tuple[str, dict]] = []
    with httpx.stream(
        "POST", f"{server.url}/api/v1/models/generate", json=payload, timeout=120
    ) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    names = [n for n, _ in events]
    assert names[-1] == "done" and names.count("token") >= 2
    done = events[-1][1]
    assert "".join(d["text"] for n, d in events if n == "token") == done["text"]
    # The default model (MP_DEFAULT_MODEL=tiny) served a request that named none.
    assert done["model"] == "tiny"


def test_models_overview(server: ServerProcess) -> None:
    body = httpx.get(f"{server.url}/api/v1/models", timeout=10).json()
    tiny = next(m for m in body["local"] if m["id"] == "tiny")
    assert tiny["format"] == "hf" and tiny["size_bytes"] > 0 and tiny["demo"] is True
    assert body["default_model"] == "tiny"
