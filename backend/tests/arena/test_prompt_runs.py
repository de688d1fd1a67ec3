"""Prompt-set runs against the real server: 20 prompts on tiny (Transformers) and its GGUF
conversion (llama.cpp) with checks whose outcome is known, live progress over SSE, thumbs that
reach the leaderboard, exports carrying the manifest, a re-run; malformed rows; a model that
cannot load; and a kill -9 mid-run that resumes without re-running finished cells."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess, tiny_server

GGUF = "tiny-f16.gguf"
BROKEN = "broken.gguf"
YES = {"enum": ["yes"]}  # constrained decoding can only write "yes" (quoted)
ANSWER = {
    "type": "object",
    "properties": {"answer": {"enum": ["yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}


def _rows(n: int = 20) -> list[dict]:
    """Four kinds of row, each with checks whose truth is known on any model:
    0: forced '"yes"' -> exact, contains, json_schema pass; 1: a regex that cannot match;
    2: a forced object -> json_schema passes; 3: contains a string never written (fails) and
    a regex that matches anything (passes)."""
    rows: list[dict] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            row = {"prompt": f"Say yes ({i})", "json_schema": YES, "contains": "yes"}
            row["expected"] = '"yes"'
        elif kind == 1:
            row = {"prompt": f"def task_{i}():", "regex": "^ZZZ-never-written$"}
        elif kind == 2:
            row = {"prompt": f"Is {i} a number?", "json_schema": ANSWER}
        else:
            row = {"prompt": f"Count to {i}", "system": "Be brief.", "contains": ["Q\u00a7Q"]}
            row["regex"] = r"[\s\S]*"
        rows.append({"id": f"r{i}", **row})
    return rows


def _jsonl(rows: list[dict]) -> bytes:
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


@pytest.fixture(scope="module")
def run_models(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_gguf: Path):
    folder = tmp_path_factory.mktemp("run-models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / GGUF).symlink_to(tiny_gguf)
    # A GGUF header and nothing else: listed as a model, fails when llama.cpp loads it.
    (folder / BROKEN).write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(4096))
    return folder


def _server(models: Path, data: Path, concurrency: int = 2) -> ServerProcess:
    return tiny_server(models, data, MP_LLAMACPP_N_CTX="512", MP_BATCH_CONCURRENCY=str(concurrency))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, run_models: Path) -> Iterator[httpx.Client]:
    server = _server(run_models, tmp_path_factory.mktemp("run-data")).start()
    try:
        with httpx.Client(base_url=f"{server.url}/api/v1/arena", timeout=120) as http:
            yield http
    finally:
        server.stop()


def _wait(client: httpx.Client, run_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] not in ("running", "cancelling"):
            return run
        time.sleep(0.2)
    raise TimeoutError(f"run {run_id} still {run['status']}")


def _sse(client: httpx.Client, path: str) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    name = ""
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def test_twenty_prompts_on_two_engines(client: httpx.Client, run_models: Path) -> None:
    config = {
        "name": "checks",
        "models": [{"model": "tiny"}, {"model": GGUF}],
        "params": {"max_tokens": 16, "temperature": 0, "seed": 7},
    }
    created = client.post(
        "/runs/upload",
        files={"file": ("set.jsonl", _jsonl(_rows()), "application/x-ndjson")},
        data={"config": json.dumps(config)},
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    assert created.json()["progress"]["total"] == 40

    # Live progress: every cell is reported once, then the stream ends with the final status.
    events = _sse(client, f"/runs/{run_id}/events")
    assert events[-1][0] == "end"
    progress = [data for name, data in events if name == "progress"]
    assert progress[-1]["status"] == "completed"
    assert progress[-1]["progress"] == {"total": 40, "completed": 40, "failed": 0}
    streamed = [(c["row"], c["model"]) for p in progress for c in p["cells"]]
    assert len(streamed) == len(set(streamed)) == 40

    run = client.get(f"/runs/{run_id}").json()
    assert run["status"] == "completed" and len(run["cells"]) == 40
    expected = {
        0: {"exact": True, "contains": True, "json_schema": True},
        1: {"regex": False},
        2: {"json_schema": True},
        3: {"contains": False, "regex": True},
    }
    for cell in run["cells"]:
        assert cell["status"] == "completed", cell
        kind = (cell["row"] - 1) % 4
        assert {c["name"]: c["passed"] for c in cell["checks"]} == expected[kind], cell
        assert cell["ttft_ms"] is not None and cell["completion_tokens"] >= 1
        assert cell["finish_reason"] in ("stop", "length")
        assert cell["constrained"] is (kind in (0, 2))
        if kind == 0:
            assert cell["text"] == '"yes"'
    backends = {c["model"]: c["backend"] for c in run["cells"]}
    assert backends == {"tiny": "transformers", GGUF: "llamacpp"}
    for summary in run["summaries"]:
        rates = {c["name"]: (c["passed"], c["total"]) for c in summary["checks"]}
        assert rates == {"exact": (5, 5), "contains": (5, 10), "regex": (5, 10),
                         "json_schema": (10, 10)}  # fmt: skip
        assert summary["completed"] == 20 and summary["median_ttft_ms"] > 0

    # The manifest: digests of the files, the backends, the parameters and the seed.
    manifest = run["manifest"]
    assert manifest["seed"] == 7 and manifest["params"]["max_tokens"] == 16
    by_label = {m["label"]: m for m in manifest["models"]}
    gguf_bytes = (run_models / GGUF).read_bytes()
    assert by_label[GGUF]["sha256"] == hashlib.sha256(gguf_bytes).hexdigest()
    assert by_label["tiny"]["backend"] == "transformers" and len(by_label["tiny"]["sha256"]) == 64

    # Thumbs: up vs down on row 1 is a win for tiny on the arena leaderboard.
    up = client.put(f"/runs/{run_id}/cells/1/tiny/rating", json={"thumb": "up"})
    assert up.status_code == 200 and up.json()["thumb"] == "up"
    assert (
        client.put(f"/runs/{run_id}/cells/1/{GGUF}/rating", json={"thumb": "down"}).status_code
        == 200
    )
    board = client.get("/leaderboard").json()
    assert board["sources"].get("run") == 1
    # One thumbs pair is one vote: too few for a rating (MP_ARENA_MIN_VOTES), so both rows say
    # how many votes they still need, and the win-rate matrix has tiny over the GGUF.
    rows = {m["model"]: m for m in board["models"]}
    assert rows["tiny"]["provisional"] and rows[GGUF]["provisional"]
    assert rows["tiny"]["rank"] is None and rows["tiny"]["votes_needed"] == board["min_votes"] - 1
    assert rows["tiny"]["win_rate"] == 1.0
    assert (
        client.put(f"/runs/{run_id}/cells/1/nope/rating", json={"thumb": "up"}).status_code == 404
    )
    assert (
        client.put(f"/runs/{run_id}/cells/99/tiny/rating", json={"thumb": "up"}).status_code == 404
    )

    # Exports carry the manifest: the JSON whole, the CSV on every line.
    exported = client.get(f"/runs/{run_id}/export.json")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.json()["manifest"] == manifest and len(exported.json()["cells"]) == 40
    table = list(csv.DictReader(io.StringIO(client.get(f"/runs/{run_id}/export.csv").text)))
    assert len(table) == 40
    assert {r["model_sha256"] for r in table if r["model"] == GGUF} == {by_label[GGUF]["sha256"]}
    assert {r["seed"] for r in table} == {"7"}
    assert [r["thumb"] for r in table[:2]] == ["up", "down"]

    # A re-run from the manifest: same seed and backends, nothing changed, same forced answers.
    again = client.post(f"/runs/{run_id}/rerun")
    assert again.status_code == 201
    rerun = _wait(client, again.json()["id"])
    assert rerun["status"] == "completed" and rerun["rerun_of"] == run_id
    assert rerun["manifest"]["seed"] == 7 and rerun["manifest"]["changed_models"] == []
    assert [m["sha256"] for m in rerun["manifest"]["models"]] == [
        m["sha256"] for m in manifest["models"]
    ]
    forced = [(c["row"], c["model"], c["text"]) for c in run["cells"] if c["constrained"]]
    assert forced == [(c["row"], c["model"], c["text"]) for c in rerun["cells"] if c["constrained"]]
    listed = [r["id"] for r in client.get("/runs").json()["data"]]
    assert listed[:2] == [rerun["id"], run_id]
    assert client.post(f"/runs/{run_id}/cancel").status_code == 409


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"text": '{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": 3\n'}, "Row 3 (line 3)"),
        ({"text": '{"prompt": "a"}\n\n{"prompt": ""}\n'}, "Row 2 (line 3)"),
        ({"rows": [{"prompt": "a"}, {"prompt": "b", "expect": "x"}]}, "Row 2: unknown field"),
        ({"rows": [{"prompt": "a", "regex": "("}]}, "Row 1: regex does not compile"),
        ({"text": "prompt,json_schema\nhi,{}\nho,{nope\n", "format": "csv"}, "Row 2 (line 3)"),
        ({"text": "question\nhi\n", "format": "csv"}, "'prompt' column"),
        ({"rows": []}, "no rows"),
    ],
)
def test_malformed_prompt_sets_are_400_naming_the_row(
    client: httpx.Client, body: dict, needle: str
) -> None:
    before = len(client.get("/runs").json()["data"])
    answer = client.post("/runs", json={"models": [{"model": "tiny"}, {"model": GGUF}], **body})
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["error"]["message"]
    assert len(client.get("/runs").json()["data"]) == before  # nothing half-written


def test_bad_requests(client: httpx.Client) -> None:
    rows = [{"prompt": "a"}]
    one = client.post("/runs", json={"models": [{"model": "tiny"}], "rows": rows})
    assert one.status_code == 400 and "models" in one.json()["error"]["message"]
    unknown = client.post(
        "/runs", json={"models": [{"model": "tiny"}, {"model": "nope"}], "rows": rows}
    )
    assert unknown.status_code == 404
    twice = client.post(
        "/runs", json={"models": [{"model": "tiny"}, {"model": "tiny"}], "rows": rows}
    )
    assert twice.status_code == 400 and "twice" in twice.json()["error"]["message"]
    assert client.get("/runs/run_nope").status_code == 404
    # An id no header can carry (found by the fuzzer: it was a 500 building Content-Disposition).
    for ext in ("json", "csv"):
        assert client.get(f"/runs/\U0003ff76d\U0009d265/export.{ext}").status_code == 404
    bad_config = client.post("/runs/upload", files={"file": ("a.jsonl", b'{"prompt":"a"}\n')},
                             data={"config": "{}"})  # fmt: skip
    assert bad_config.status_code == 400 and "config" in bad_config.json()["error"]["message"]


def test_a_failing_model_fails_its_cells_and_the_run_completes(client: httpx.Client) -> None:
    created = client.post(
        "/runs",
        json={
            "models": [{"model": "tiny"}, {"model": BROKEN}],
            "params": {"max_tokens": 4, "temperature": 0},
            "text": "prompt\nhello\nworld\nagain\n",
        },
    )
    assert created.status_code == 201, created.text
    run = _wait(client, created.json()["id"])
    assert run["status"] == "completed"
    assert run["progress"] == {"total": 6, "completed": 3, "failed": 3}
    for cell in run["cells"]:
        if cell["model"] == BROKEN:
            assert cell["status"] == "failed" and "could not load" in cell["error"]
        else:
            assert cell["status"] == "completed" and cell["error"] is None
    broken = next(s for s in run["summaries"] if s["model"] == BROKEN)
    assert broken["failed"] == 3 and broken["median_ttft_ms"] is None
    rate = client.put(f"/runs/{run['id']}/cells/1/{BROKEN}/rating", json={"thumb": "down"})
    assert rate.status_code == 409


def _finished(data: Path) -> dict[int, str]:
    """Committed cells of every run: batch line -> its stored result (as written)."""
    conn = sqlite3.connect(data / "playground.sqlite3")
    try:
        rows = conn.execute(
            "SELECT line_no, result FROM batch_lines WHERE status != 'pending'"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def test_kill_9_mid_run_resumes_without_rerunning_finished_cells(
    tmp_path: Path, run_models: Path
) -> None:
    server = _server(run_models, tmp_path, concurrency=1).start()
    try:
        http = httpx.Client(base_url=f"{server.url}/api/v1/arena", timeout=120)
        body = {
            "models": [{"model": "tiny"}, {"model": GGUF}],
            "params": {"max_tokens": 48, "temperature": 0},
            "rows": [{"prompt": f"def task_{i}():"} for i in range(20)],
        }
        run_id = http.post("/runs", json=body).json()["id"]
        while http.get(f"/runs/{run_id}").json()["progress"]["completed"] < 4:
            time.sleep(0.02)
        server.kill()
        before = _finished(tmp_path)
        assert 4 <= len(before) < 40, "the kill must land mid-run"
        server.start()
        http = httpx.Client(base_url=f"{server.url}/api/v1/arena", timeout=120)
        run = _wait(http, run_id)
        assert run["status"] == "completed"
        assert run["progress"] == {"total": 40, "completed": 40, "failed": 0}
        after = _finished(tmp_path)
        assert len(after) == 40
        # Cells finished before the kill kept their stored result: same id, same finish time.
        assert all(after[line] == result for line, result in before.items())
        finished = {
            (c["row"], c["model"]): c["finished_at"] for c in run["cells"] if c["finished_at"]
        }
        assert len(finished) == 40
    finally:
        server.stop()
