"""Compare: one prompt on several models, streams merged, one column's failure isolated."""

from __future__ import annotations

import json

import httpx

from tests.helpers.server import ServerProcess


def _events(server: ServerProcess, payload: dict) -> list[tuple[str, dict]]:
    events, name = [], None
    with httpx.stream(
        "POST", f"{server.url}/api/v1/compare", json=payload, timeout=180
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def test_compare_two_columns_same_seed_same_text(server: ServerProcess) -> None:
    payload = {
        "models": [{"model": "tiny"}, {"model": "tiny"}],
        "messages": [{"role": "user", "content": "def load(path):"}],
        "max_tokens": 20,
        "temperature": 0.8,
        "seed": 11,
    }
    events = _events(server, payload)
    assert events[-1][0] == "end"
    done = {d["index"]: d["response"] for n, d in events if n == "done"}
    assert set(done) == {0, 1}
    for index in (0, 1):
        streamed = "".join(d["text"] for n, d in events if n == "token" and d["index"] == index)
        assert streamed == done[index]["text"]
        assert done[index]["timings"]["backend"] == "transformers"
    # Same model, prompt, parameters and seed: the columns agree.
    assert done[0]["text"] == done[1]["text"]


def test_compare_failing_column_does_not_stop_others(server: ServerProcess) -> None:
    payload = {
        "models": [{"model": "tiny"}, {"model": "ghost"}],
        "prompt": "import re\n",
        "max_tokens": 8,
        "temperature": 0,
    }
    events = _events(server, payload)
    errors = [d for n, d in events if n == "error"]
    assert len(errors) == 1 and errors[0]["index"] == 1
    assert errors[0]["error"]["error"]["code"] == "model_not_found"
    assert [d["index"] for n, d in events if n == "done"] == [0]


def test_compare_validation(server: ServerProcess) -> None:
    one = httpx.post(
        f"{server.url}/api/v1/compare",
        json={"models": [{"model": "tiny"}], "prompt": "x"},
        timeout=30,
    )
    assert one.status_code == 400 and one.json()["error"]["param"].startswith("models")
    five = httpx.post(
        f"{server.url}/api/v1/compare",
        json={"models": [{"model": "tiny"}] * 5, "prompt": "x"},
        timeout=30,
    )
    assert five.status_code == 400
