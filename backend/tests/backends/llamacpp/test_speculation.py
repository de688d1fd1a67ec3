"""Prompt lookup in the llama.cpp scheduler: greedy output token for token what plain decoding
gives, alone and batched beside sequences without drafts, with rejected drafts' KV cells
removed (a following request that reuses the slot's cached prefix is still exact)."""

from __future__ import annotations

import httpx

from tests.backends.llamacpp.test_scheduler import MODEL, PROMPTS, Stream
from tests.helpers.server import ServerProcess

LOOKUP = {"speculation": {"mode": "ngram", "max_draft": 6}}


def _generate(server: ServerProcess, prompt: str, penalty: float, **extra) -> dict:
    body = {
        "model": MODEL,
        "prompt": prompt,
        "temperature": 0,
        "max_tokens": 64,
        "repetition_penalty": penalty,
        **extra,
    }
    response = httpx.post(f"{server.url}/api/v1/models/generate", json=body, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


CASES = [(p, penalty) for p in PROMPTS[:4] for penalty in (1.0, 1.3)]


def test_lookup_greedy_is_exact_alone_and_batched(backends_server: ServerProcess) -> None:
    plain = [_generate(backends_server, p, r) for p, r in CASES]
    fast = [_generate(backends_server, p, r, **LOOKUP) for p, r in CASES]
    assert [f["text"] for f in fast] == [p["text"] for p in plain]
    assert all(p["timings"]["draft_tokens"] == 0 for p in plain)
    drafted = sum(f["timings"]["draft_tokens"] for f in fast)
    accepted = sum(f["timings"]["accepted_tokens"] for f in fast)
    assert 0 < accepted < drafted  # drafts kept and drafts rolled back
    # Batched: every other sequence drafts (4 slots on this server).
    streams = [
        Stream(
            backends_server,
            {
                "prompt": p,
                "temperature": 0,
                "max_tokens": 64,
                "repetition_penalty": r,
                **(LOOKUP if i % 2 == 0 else {}),
            },
        ).start()
        for i, (p, r) in enumerate(CASES[:4])
    ]
    for stream in streams:
        stream.join()
        assert stream.error is None and stream.done is not None
    assert [s.text for s in streams] == [p["text"] for p in plain[:4]]
    # The slots' cached cells (kept after rollbacks) serve the same prompts exactly again.
    again = [_generate(backends_server, p, r) for p, r in CASES]
    assert [a["text"] for a in again] == [p["text"] for p in plain]
