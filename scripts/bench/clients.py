"""Streaming OpenAI-compatible chat client (httpx, SSE parsed by hand so every chunk is timed
as it arrives) used against our server and every peer."""

from __future__ import annotations

import json
import time

import httpx

from scripts.bench.common import StreamRecord, prompt_for


def stream_chat(
    client: httpx.Client, base_url: str, model: str, index: int, record: StreamRecord,
    max_tokens: int, extra: dict | None = None,
) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt_for(index)}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
        **(extra or {}),
    }
    chunks = 0
    usage_tokens = None
    with client.stream("POST", f"{base_url}/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            payload = json.loads(data)
            if "error" in payload:
                raise RuntimeError(str(payload["error"])[:200])
            if payload.get("usage"):
                usage_tokens = payload["usage"].get("completion_tokens")
            for choice in payload.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    record.text_chunk(time.perf_counter())
                    chunks += 1
                if choice.get("finish_reason"):
                    record.finished = time.perf_counter()
    record.finished = record.finished or time.perf_counter()
    record.tokens = usage_tokens if usage_tokens is not None else chunks


def new_client() -> httpx.Client:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    return httpx.Client(timeout=httpx.Timeout(600.0), limits=limits)
