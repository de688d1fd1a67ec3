"""Every streamed answer goes through the one serving driver (``api/serving.py``), so every
dialect ends the same two ways (issue 27):

- a mid-stream engine error becomes that dialect's error event(s) and the stream ends cleanly
  (HTTP 200, a complete body, nothing after the error but the dialect's own terminator);
- a client that leaves cancels the generation: the engine sees its cancel event set and stops
  (conversation answers are the exception by design: they run on until ``POST .../cancel``).

The app runs in this process behind uvicorn on a real 127.0.0.1 socket, serving the tiny model;
the engine is wrapped to watch its cancel event and, for the error case only, to fail after its
first event."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.backends.base import GenerationRequest, TokenEvent
from app.core.config import Settings
from app.main import create_app
from tests.helpers.server import free_port
from tests.helpers.sse import sse_pairs

# Greedy decoding of the tiny model runs these to MAX without an end-of-turn token, so a
# stream ends early only by the error or the cancel under test.
PROMPT = "def main():"  # raw prompt
ASKED = "hello hello"  # chat prompt
MAX = 1000


@dataclass
class EngineRun:
    """One call of the engine's ``stream``: the cancel event it was given and how it ended."""

    cancel: threading.Event
    finish: str | None = None
    ended: threading.Event = field(default_factory=threading.Event)


class EngineProbe:
    """Wraps a loaded engine's ``stream``: records each run; with ``fail`` set, raises after
    the first event (a fault in the middle of a stream)."""

    def __init__(self, engine: Any) -> None:
        self.inner = engine.stream
        self.fail = False
        self.runs: list[EngineRun] = []
        engine.stream = self

    def __call__(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        run = EngineRun(cancel)
        self.runs.append(run)
        events = self.inner(request, cancel)
        try:
            for event in events:
                run.finish = event.finish_reason or run.finish
                yield event
                if self.fail:
                    raise RuntimeError("injected engine fault")
        finally:
            events.close()
            run.ended.set()

    def wait_idle(self, timeout: float = 30) -> None:
        for run in self.runs:
            assert run.ended.wait(timeout), "an engine run never ended"


@dataclass
class Live:
    url: str
    probe: EngineProbe


@pytest.fixture(scope="module")
def live(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = Settings(
        models_dir=models_dir,
        data_dir=tmp_path_factory.mktemp("data"),
        default_model="tiny",
        threads=1,
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    httpx.post(f"{url}/api/v1/models/tiny/load", timeout=120).raise_for_status()
    loaded = app.state.model_manager.get_loaded("tiny")
    assert loaded is not None
    yield Live(url, EngineProbe(loaded.backend))
    server.should_exit = True
    thread.join(30)


def _openai_error(data: str) -> None:
    assert json.loads(data)["error"]["code"] == "generation_failed"


def _native_end(text: str) -> None:
    events = sse_pairs(text)
    assert events[-1][0] == "error"
    _openai_error(events[-1][1])


def _openai_end(text: str) -> None:
    events = sse_pairs(text)
    assert events[-1][1] == "[DONE]"
    _openai_error(events[-2][1])
    assert all("finish_reason" not in d or '"finish_reason":null' in d for _, d in events[:-2])


def _responses_end(text: str) -> None:
    events = sse_pairs(text)
    assert [name for name, _ in events[-2:]] == ["error", "response.failed"]
    error = json.loads(events[-2][1])
    assert error["code"] == "generation_failed" and "injected engine fault" in error["message"]
    failed = json.loads(events[-1][1])["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "generation_failed"
    numbers = [json.loads(d)["sequence_number"] for _, d in events]
    assert numbers == list(range(len(events)))


def _anthropic_end(text: str) -> None:
    events = sse_pairs(text)
    assert events[0][0] == "message_start"
    assert events[-1][0] == "error"
    body = json.loads(events[-1][1])
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert "message_stop" not in [name for name, _ in events]


def _ollama_end(text: str) -> None:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert "injected engine fault" in lines[-1]["error"]
    assert all(line.get("done") is False for line in lines[:-1])


def _compare_end(text: str) -> None:
    events = sse_pairs(text)
    assert events[-1][0] == "end"
    errors = [json.loads(d) for name, d in events if name == "error"]
    assert sorted(e["index"] for e in errors) == [0, 1]
    assert all(e["error"]["error"]["code"] == "generation_failed" for e in errors)
    assert "done" not in [name for name, _ in events]


@dataclass
class Dialect:
    """One streamed endpoint: where to post (``path`` may create what it needs), the body,
    the check of a stream that failed mid-way, whether leaving cancels the engine."""

    name: str
    path: Callable[[str], str]
    body: dict[str, Any]
    failed: Callable[[str], None]
    runs: int = 1  # engine runs per request
    leaving_cancels: bool = True


def _fixed(path: str) -> Callable[[str], str]:
    return lambda url: path


def _conversation(url: str) -> str:
    made = httpx.post(f"{url}/api/v1/conversations", json={"model": "tiny"}, timeout=10)
    made.raise_for_status()
    return f"/api/v1/conversations/{made.json()['id']}/messages"


CHAT = [{"role": "user", "content": ASKED}]
SAMPLING = {"temperature": 0.0}
DIALECTS = [
    Dialect(
        "native",
        _fixed("/api/v1/models/generate"),
        {"prompt": PROMPT, "max_tokens": MAX, **SAMPLING},
        _native_end,
    ),
    Dialect(
        "openai-chat",
        _fixed("/v1/chat/completions"),
        {"messages": CHAT, "max_tokens": MAX, **SAMPLING},
        _openai_end,
    ),
    Dialect(
        "openai-completions",
        _fixed("/v1/completions"),
        {"prompt": PROMPT, "max_tokens": MAX, **SAMPLING},
        _openai_end,
    ),
    Dialect(
        "openai-responses",
        _fixed("/v1/responses"),
        {"input": ASKED, "max_output_tokens": MAX, "store": False, **SAMPLING},
        _responses_end,
    ),
    Dialect(
        "anthropic-messages",
        _fixed("/v1/messages"),
        {"messages": CHAT, "max_tokens": MAX, **SAMPLING},
        _anthropic_end,
    ),
    Dialect(
        "ollama-chat",
        _fixed("/api/chat"),
        {"messages": CHAT, "options": {"num_predict": MAX, "repeat_penalty": 1.0, **SAMPLING}},
        _ollama_end,
    ),
    Dialect(
        "conversations",
        _conversation,
        {"content": ASKED, "max_tokens": MAX, **SAMPLING},
        _native_end,
        leaving_cancels=False,
    ),
    Dialect(
        "compare",
        _fixed("/api/v1/compare"),
        {
            "models": [{"model": "tiny"}, {"model": "tiny"}],
            "prompt": PROMPT,
            "max_tokens": MAX,
            **SAMPLING,
        },
        _compare_end,
        runs=2,
    ),
]


def _body(dialect: Dialect) -> dict[str, Any]:
    body = {"model": "tiny", "stream": True, **dialect.body}
    if dialect.name == "compare":
        body.pop("model")
    if dialect.name == "conversations":
        body.pop("model")
    return body


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_engine_error_mid_stream_ends_the_stream_cleanly(live: Live, dialect: Dialect) -> None:
    live.probe.wait_idle()
    first = len(live.probe.runs)
    live.probe.fail = True
    try:
        response = httpx.post(
            live.url + dialect.path(live.url), json=_body(dialect), timeout=120
        )  # reads the whole body: an unfinished chunked body would raise here
    finally:
        live.probe.fail = False
    assert response.status_code == 200, response.text
    assert len(live.probe.runs) - first == dialect.runs
    dialect.failed(response.text)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_client_leaving_cancels_the_generation(live: Live, dialect: Dialect) -> None:
    live.probe.wait_idle()
    first = len(live.probe.runs)
    path = dialect.path(live.url)
    with (
        httpx.Client(timeout=120) as client,
        client.stream("POST", live.url + path, json=_body(dialect)) as response,
    ):
        assert response.status_code == 200
        seen = 0
        for line in response.iter_lines():
            seen += bool(line.strip()) and not line.startswith(("event:", ":", "id:"))
            if seen >= 4:
                break  # leaving the block closes the connection mid-stream
    runs = live.probe.runs[first:]
    assert len(runs) == dialect.runs
    if not dialect.leaving_cancels:
        time.sleep(0.1)
        run = runs[0]
        if run.ended.is_set():  # the model ended its answer by itself meanwhile
            assert run.finish in ("stop", "length"), "a conversation answer stopped with its client"
            return
        assert not run.cancel.is_set(), "a conversation answer stopped with its client"
        cancel = httpx.post(f"{live.url}{path.rsplit('/', 1)[0]}/cancel", timeout=30)
        assert cancel.status_code == 204
    for run in runs:
        assert run.ended.wait(30), "the engine kept generating after the client left"
        assert run.cancel.is_set()
        assert run.finish == "cancelled", f"the engine ended with {run.finish!r}, not the cancel"
