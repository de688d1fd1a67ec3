"""A client that leaves mid-stream stops the engine, not just the HTTP response."""

from __future__ import annotations

import time

import httpx

from tests.helpers.server import ServerProcess


def _tiny_stats(server: ServerProcess) -> dict:
    loaded = httpx.get(f"{server.url}/api/v1/models/loaded", timeout=10).json()
    return next(m for m in loaded if m["id"] == "tiny")


def _wait_idle(server: ServerProcess, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    stats = _tiny_stats(server)
    while stats["active_requests"] and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = _tiny_stats(server)
    return stats


def _disconnect_after_chunks(server: ServerProcess, url: str, payload: dict, chunks: int) -> None:
    with httpx.Client(timeout=60) as client, client.stream("POST", url, json=payload) as response:
        assert response.status_code == 200
        seen = 0
        ndjson = response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            if line.startswith("data:") or (ndjson and line.strip()):
                seen += 1
                if seen >= chunks:
                    break  # leaving the block closes the connection


def test_openai_stream_disconnect_stops_generation(server: ServerProcess) -> None:
    httpx.post(f"{server.url}/api/v1/models/tiny/load", timeout=120).raise_for_status()
    before = _wait_idle(server)["tokens_generated"]
    payload = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "def main():"}],
        "max_tokens": 1000,
        "temperature": 1.0,
        "seed": 3,
        "stream": True,
    }
    # A stream of 1000 tokens takes seconds on the tiny model; we leave after 5 chunks.
    _disconnect_after_chunks(server, f"{server.url}/v1/chat/completions", payload, 5)
    stats = _wait_idle(server)
    assert stats["active_requests"] == 0, "the engine kept generating after the client left"
    stopped_at = stats["tokens_generated"]
    time.sleep(1.0)
    assert _tiny_stats(server)["tokens_generated"] == stopped_at
    assert stopped_at - before < 1000, "the whole completion was generated anyway"


def test_native_stream_disconnect_stops_generation(server: ServerProcess) -> None:
    before = _wait_idle(server)["tokens_generated"]
    payload = {
        "model": "tiny",
        "prompt": "class Parser:\n",
        "max_tokens": 1000,
        "temperature": 1.0,
        "seed": 4,
        "stream": True,
    }
    _disconnect_after_chunks(server, f"{server.url}/api/v1/models/generate", payload, 5)
    stats = _wait_idle(server)
    assert stats["active_requests"] == 0
    stopped_at = stats["tokens_generated"]
    time.sleep(1.0)
    assert _tiny_stats(server)["tokens_generated"] == stopped_at
    assert stopped_at - before < 1000


def test_ollama_ndjson_stream_disconnect_stops_generation(server: ServerProcess) -> None:
    before = _wait_idle(server)["tokens_generated"]
    payload = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "def parse():"}],
        "options": {"num_predict": 1000, "temperature": 1.0, "seed": 5},
        "stream": True,
    }
    _disconnect_after_chunks(server, f"{server.url}/api/chat", payload, 5)
    stats = _wait_idle(server)
    assert stats["active_requests"] == 0
    stopped_at = stats["tokens_generated"]
    time.sleep(1.0)
    assert _tiny_stats(server)["tokens_generated"] == stopped_at
    assert stopped_at - before < 1000
