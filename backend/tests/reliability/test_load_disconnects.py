"""64 concurrent streaming clients on 127.0.0.1, a quarter of them hanging up at random points.

Every request must complete or be cancelled, no generation may keep running after its client
left (active_requests back to 0, tokens_generated stops growing), and the server process's
thread count and RSS must come back near their baseline (measured after a warm-up round of the
same shape, so pools the first round creates are part of the baseline).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.helpers.server import ServerProcess
from tests.reliability.conftest import start_server

# Thread and memory counts after a load round: another test's load beside it skews them.
pytestmark = pytest.mark.alone

CLIENTS = 64
DISCONNECTING = CLIENTS // 4
MAX_TOKENS = 48  # clients that stay
LEAVER_MAX_TOKENS = 400  # clients that hang up ask for long texts: finishing them would show
HANG_UP_BY = 12  # leavers hang up after 0..12 events
STOP_SLACK = 40  # tokens a leaver's generation may still make before the server notices
ROUND_LIMIT_S = 900  # a bound against hangs, not a speed requirement
# Bounded pools (asyncio's default executor, anyio's, the tokenizer pool) start their threads
# lazily and keep them: a round with more overlap than the warm-up adds a few, up to each pool's
# cap. A leak adds one per request (64 a round, 16 of them cancelled), far above this margin.
THREAD_MARGIN = 12
RSS_MARGIN_BYTES = 96 * 1024 * 1024


@pytest.fixture(scope="module")
def load_server(tmp_path_factory, models_dir: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory, models_dir, "load")
    httpx.post(f"{proc.url}/api/v1/models/tiny/load", timeout=300).raise_for_status()
    yield proc
    proc.stop()


async def _client(http: httpx.AsyncClient, i: int, hang_up_after: int | None) -> str:
    """One streaming request; returns 'completed', 'cancelled' or what went wrong."""
    native = i % 2 == 0
    max_tokens = MAX_TOKENS if hang_up_after is None else LEAVER_MAX_TOKENS
    if native:
        url = "/api/v1/models/generate"
        body = {"prompt": f"Story {i}:", "max_tokens": max_tokens, "stream": True, "seed": i}
    else:
        url = "/v1/chat/completions"
        body = {
            "model": "tiny",
            "messages": [{"role": "user", "content": f"Tell {i}"}],
            "max_tokens": max_tokens,
            "stream": True,
            "seed": i,
        }
    events = 0
    event_name = ""
    async with http.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            return f"status {response.status_code}"
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event_name = line[6:].strip()
                continue
            if not line.startswith("data:"):
                continue
            events += 1
            if hang_up_after is not None and events > hang_up_after:
                return "cancelled"  # leaving the block closes the connection mid-stream
            if event_name == "error" or '"error"' in line[:20]:
                return f"error event: {line[:200]}"
            if line[5:].strip() == "[DONE]" or event_name == "done":
                return "completed"
    return "cancelled" if hang_up_after is not None else f"ended early after {events} events"


async def _round(url: str, rng: random.Random, disconnecting: int) -> Counter[str]:
    leavers = set(rng.sample(range(CLIENTS), disconnecting))
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=ROUND_LIMIT_S, limits=limits) as http:
        tasks = [
            _client(http, i, rng.randint(0, HANG_UP_BY) if i in leavers else None)
            for i in range(CLIENTS)
        ]
        results = await asyncio.wait_for(asyncio.gather(*tasks), ROUND_LIMIT_S)
    return Counter(results)


def _loaded(url: str) -> dict:
    models = httpx.get(f"{url}/api/v1/models/loaded", timeout=60).json()
    return next(m for m in models if m["id"] == "tiny")


def _settle(url: str, limit_s: float = 120) -> dict:
    """Wait (bounded) until nothing is generating; the loaded-model record then."""
    deadline = time.monotonic() + limit_s
    while True:
        info = _loaded(url)
        if info["active_requests"] == 0 or time.monotonic() > deadline:
            return info
        time.sleep(0.5)


def _usage(proc: psutil.Process) -> tuple[int, int]:
    return proc.num_threads(), proc.memory_info().rss


def _wait_back(proc: psutil.Process, threads0: int, rss0: int, limit_s: float = 60):
    """Bounded wait for idle threads to exit (executors retire idle workers)."""
    deadline = time.monotonic() + limit_s
    while True:
        threads, rss = _usage(proc)
        ok = threads <= threads0 + THREAD_MARGIN and rss <= rss0 + RSS_MARGIN_BYTES
        if ok or time.monotonic() > deadline:
            return threads, rss
        time.sleep(1)


def test_64_streams_with_disconnects(load_server: ServerProcess):
    assert load_server.proc is not None
    server = psutil.Process(load_server.proc.pid)
    rng = random.Random(64)

    # Warm-up round of the same shape: pools and caches it creates belong to the baseline.
    warm = asyncio.run(_round(load_server.url, rng, DISCONNECTING))
    assert warm["completed"] + warm["cancelled"] == CLIENTS, warm
    _settle(load_server.url)
    threads0, rss0 = _wait_back(server, 10**6, 1 << 62, limit_s=0)

    tokens_before = _loaded(load_server.url)["tokens_generated"]
    results = asyncio.run(_round(load_server.url, rng, DISCONNECTING))
    print("\nload round:", dict(results))
    # Every request completed or was cancelled; only leavers were cancelled (a leaver whose
    # text ended before its hang-up point completed instead).
    assert results["completed"] + results["cancelled"] == CLIENTS, results
    assert results["completed"] >= CLIENTS - DISCONNECTING, results
    assert 1 <= results["cancelled"] <= DISCONNECTING, results

    # Nothing keeps generating for clients that left.
    info = _settle(load_server.url)
    assert info["active_requests"] == 0, info
    tokens = info["tokens_generated"]
    # Leavers asked for 400 tokens each: had their generations run on, this bound would break.
    bound = results["completed"] * MAX_TOKENS + DISCONNECTING * (HANG_UP_BY + STOP_SLACK)
    made = tokens - tokens_before
    print("tokens made:", made, "bound:", bound)
    assert made <= bound, (made, bound)
    time.sleep(3)
    assert _loaded(load_server.url)["tokens_generated"] == tokens, "tokens still being made"
    metrics = httpx.get(f"{load_server.url}/metrics", timeout=60).text
    assert 'mp_generation_queue_depth{model="tiny"} 0.0' in metrics
    cancelled = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("mp_generations_total{") and 'finish_reason="cancelled"' in line
    ]
    assert sum(cancelled) >= 1, "no generation was recorded as cancelled"

    threads, rss = _wait_back(server, threads0, rss0)
    figures = {
        "threads_baseline": threads0,
        "threads_after": threads,
        "rss_baseline_mb": rss0 >> 20,
        "rss_after_mb": rss >> 20,
    }
    print("load resources:", json.dumps(figures))
    assert threads <= threads0 + THREAD_MARGIN, figures
    assert rss <= rss0 + RSS_MARGIN_BYTES, figures
    assert httpx.get(f"{load_server.url}/api/v1/health", timeout=60).status_code == 200
