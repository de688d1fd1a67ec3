"""Concurrent GGUF generation: several sequences decoded together by the llama.cpp scheduler
(4 sequences and a queue of 2 on ``backends_server``).

Each test compares what a request writes alongside others with what it writes alone, so a
sequence that borrowed another's KV cells, sampler or stop strings would show."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.helpers.backend_servers import (
    LLAMACPP_N_BATCH,
    LLAMACPP_PARALLEL,
    LLAMACPP_QUEUE_MAX,
)
from tests.helpers.server import ServerProcess

MODEL = "tiny-f16.gguf"
# Raw prompts on which the tiny model's greedy texts differ from each other.
PROMPTS = ["class Parser:\n    def", "# Copyright", "    if not", '"""', "def foo("]


@dataclass
class Stream:
    """One streamed request run in a thread, with the order its events arrived in."""

    server: ServerProcess
    body: dict
    stop_after: int | None = None  # leave (disconnect) after this many tokens
    leave: threading.Event = field(default_factory=threading.Event)  # set: disconnect now
    tokens: list[str] = field(default_factory=list)
    done: dict | None = None
    error: dict | None = None
    first_token: threading.Event = field(default_factory=threading.Event)
    first_at: float = 0.0
    last_at: float = 0.0
    thread: threading.Thread | None = None

    def start(self) -> Stream:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        body = {"model": MODEL, "stream": True, **self.body}
        name = None
        with (
            httpx.Client(timeout=300) as client,
            client.stream(
                "POST", f"{self.server.url}/api/v1/models/generate", json=body
            ) as response,
        ):
            if response.status_code != 200:
                self.error = json.loads(response.read())
                self.first_token.set()
                return
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                    continue
                if not line.startswith("data:"):
                    continue
                data = json.loads(line[5:])
                if name == "token":
                    self.tokens.append(data["text"])
                    self.last_at = time.monotonic()
                    if not self.first_token.is_set():
                        self.first_at = self.last_at
                        self.first_token.set()
                    if self.leave.is_set() or (
                        self.stop_after is not None and len(self.tokens) >= self.stop_after
                    ):
                        return  # leaving closes the connection
                elif name == "done":
                    self.done = data
                elif name == "error":
                    self.error = data
        self.first_token.set()

    def join(self) -> Stream:
        assert self.thread is not None
        self.thread.join(300)
        return self

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def _alone(server: ServerProcess, **body) -> dict:
    response = httpx.post(
        f"{server.url}/api/v1/models/generate", json={"model": MODEL, **body}, timeout=300
    )
    assert response.status_code == 200, response.text
    return response.json()


def _stats(server: ServerProcess) -> dict:
    loaded = httpx.get(f"{server.url}/api/v1/models/loaded", timeout=10).json()
    return next(m for m in loaded if m["id"] == MODEL)


def _wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _raw(prompt: str, **fields) -> dict:
    return {"prompt": prompt, "temperature": 0, **fields}


def test_greedy_output_is_the_same_alone_and_batched(backends_server: ServerProcess) -> None:
    n = 300
    alone = [_alone(backends_server, **_raw(p, max_tokens=n))["text"] for p in PROMPTS[:4]]
    assert len(set(alone)) > 1, "the prompts should lead to different texts"
    running = [Stream(backends_server, _raw(p, max_tokens=n)).start() for p in PROMPTS[:3]]
    for stream in running:
        assert stream.first_token.wait(60)
    # The fourth joins while the first three are mid-generation.
    late = Stream(backends_server, _raw(PROMPTS[3], max_tokens=n)).start()
    for stream in [*running, late]:
        stream.join()
        assert stream.error is None and stream.done is not None
    assert late.first_at < max(s.last_at for s in running), "the late request did not overlap"
    assert [s.text for s in [*running, late]] == alone
    assert all(
        s.done["usage"]["completion_tokens"] == n
        for s in [*running, late]
        if s.done["finish_reason"] == "length"
    )


def test_long_prompt_prefilled_in_chunks_while_others_decode(
    backends_server: ServerProcess,
) -> None:
    long_prompt = "".join(f"    value_{i} = compute({i})\n" for i in range(60)) + "    return"
    tokens = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        timeout=60,
        json={"model": MODEL, "prompt": long_prompt, "max_tokens": 1},
    ).json()["usage"]["prompt_tokens"]
    assert tokens > 3 * LLAMACPP_N_BATCH, "the prompt should need several prefill chunks"
    n = 200
    alone_long = _alone(backends_server, **_raw(long_prompt, max_tokens=40))["text"]
    alone = [_alone(backends_server, **_raw(p, max_tokens=n))["text"] for p in PROMPTS[:2]]
    running = [Stream(backends_server, _raw(p, max_tokens=n)).start() for p in PROMPTS[:2]]
    for stream in running:
        assert stream.first_token.wait(60)
    joined = Stream(backends_server, _raw(long_prompt, max_tokens=40)).start()
    for stream in [*running, joined]:
        stream.join()
        assert stream.error is None
    assert joined.text == alone_long
    assert [s.text for s in running] == alone
    assert joined.first_at < max(s.last_at for s in running), "the long prompt did not overlap"


def test_cancelling_one_stream_leaves_the_others_and_frees_its_slot(
    backends_server: ServerProcess,
) -> None:
    n = 900
    prompts = PROMPTS[:LLAMACPP_PARALLEL]
    alone = [_alone(backends_server, **_raw(p, max_tokens=n))["text"] for p in prompts]
    queued_alone = _alone(backends_server, **_raw(PROMPTS[4], max_tokens=40))["text"]
    streams = [Stream(backends_server, _raw(p, max_tokens=n)).start() for p in prompts]
    for stream in streams:
        assert stream.first_token.wait(60)
    queued = Stream(backends_server, _raw(PROMPTS[4], max_tokens=40)).start()
    _wait_for(lambda: _stats(backends_server)["queue_depth"] == 1)
    assert not queued.first_token.is_set(), "all four sequences are busy: it must wait"
    cancelled = streams[1]
    cancelled.leave.set()  # the client of stream 1 goes away
    for stream in [*streams, queued]:
        stream.join()
    assert cancelled.done is None and len(cancelled.tokens) < n
    for i in (0, 2, 3):
        assert streams[i].error is None and streams[i].text == alone[i]
    # The queued request got the cancelled one's slot and ran while the others still did.
    assert queued.error is None and queued.text == queued_alone
    assert queued.first_at < max(streams[i].last_at for i in (0, 2, 3))
    _wait_for(lambda: _stats(backends_server)["active_requests"] == 0)
    assert _stats(backends_server)["queue_depth"] == 0


def test_each_sequence_keeps_its_own_parameters(backends_server: ServerProcess) -> None:
    greedy = _raw(PROMPTS[0], max_tokens=60)
    sampled = {
        "prompt": PROMPTS[3],
        "max_tokens": 50,
        "temperature": 1.0,
        "seed": 42,
        "top_k": 40,
        "top_p": 0.9,
        "repetition_penalty": 1.3,
    }
    greedy_text = _alone(backends_server, **greedy)["text"]
    stop = greedy_text[12:15]
    assert stop.strip()
    stopped = {**_raw(PROMPTS[0], max_tokens=60), "stop": [stop]}
    short = _raw(PROMPTS[2], max_tokens=7)
    bodies = [greedy, sampled, stopped, short]
    alone = [_alone(backends_server, **b) for b in bodies]
    assert alone[1]["text"] != _alone(backends_server, **{**sampled, "seed": 43})["text"]
    together = [Stream(backends_server, b).start() for b in bodies]
    for stream in together:
        stream.join()
        assert stream.error is None and stream.done is not None
    assert [s.text for s in together] == [a["text"] for a in alone]
    assert together[2].text == greedy_text[: greedy_text.index(stop)]
    assert together[2].done["finish_reason"] == "stop"
    assert together[3].done["usage"]["completion_tokens"] == 7
    assert together[3].done["finish_reason"] == "length"


def test_over_the_queue_bound_is_429_with_retry_after(backends_server: ServerProcess) -> None:
    busy = [
        Stream(
            backends_server, _raw(PROMPTS[i % 5], max_tokens=900, temperature=1.0, seed=i)
        ).start()
        for i in range(LLAMACPP_PARALLEL + LLAMACPP_QUEUE_MAX)
    ]
    _wait_for(lambda: _stats(backends_server)["queue_depth"] == LLAMACPP_QUEUE_MAX)
    response = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={"model": MODEL, "prompt": "x", "max_tokens": 4},
        timeout=60,
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["type"] == "rate_limit_error"
    metrics = httpx.get(f"{backends_server.url}/metrics", timeout=10).text
    assert f'mp_backend_queue_depth{{backend="llamacpp",model="{MODEL}"}}' in metrics
    for stream in busy:
        stream.join()
        assert stream.error is None


def test_prompt_over_the_sequence_share_is_400(backends_server: ServerProcess) -> None:
    context = _stats(backends_server)["context_length"]
    response = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={"model": MODEL, "prompt": "def foo(bar): return bar\n" * 200},
        timeout=60,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded" and str(context) in error["message"]
    response = httpx.post(
        f"{backends_server.url}/api/v1/models/generate",
        json={"model": MODEL, "prompt": "x", "max_tokens": context},
        timeout=60,
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "max_tokens"
