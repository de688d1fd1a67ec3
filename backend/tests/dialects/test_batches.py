"""The official ``openai`` SDK against /v1/files and /v1/batches: a batch on both engines,
every bad input of the issue, cancel keeping finished results, and a kill -9 mid-batch."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import openai
import pytest

from tests.dialects.conftest import GGUF, dialect_env
from tests.helpers.server import ServerProcess


def _client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def client(dialect_server: ServerProcess) -> openai.OpenAI:
    return _client(dialect_server)


def _chat_line(i: int, model: str, max_tokens: int = 6) -> dict:
    return {
        "custom_id": f"req-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "max_tokens": max_tokens,
            "temperature": 0,
            "messages": [{"role": "user", "content": f"def task_{i}():"}],
        },
    }


def _jsonl(lines: list[dict]) -> bytes:
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


def _wait(client: openai.OpenAI, batch_id: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        time.sleep(0.2)
    raise TimeoutError(f"batch {batch_id} still {batch.status}")


def _results(client: openai.OpenAI, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_batch_on_both_engines_matches_live_requests(client) -> None:
    lines = [_chat_line(i, "tiny" if i % 2 else GGUF) for i in range(6)]
    lines.append(
        {
            "custom_id": "bad-model",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
        }
    )
    upload = client.files.create(file=("requests.jsonl", _jsonl(lines)), purpose="batch")
    assert upload.purpose == "batch" and upload.bytes == len(_jsonl(lines))
    batch = client.batches.create(
        input_file_id=upload.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"job": "t1"},
    )
    assert batch.request_counts.total == 7
    done = _wait(client, batch.id)
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (6, 1)
    ok = _results(client, done.output_file_id)
    failed = _results(client, done.error_file_id)
    assert sorted(r["custom_id"] for r in ok) == sorted(f"req-{i}" for i in range(6))
    assert failed[0]["custom_id"] == "bad-model"
    assert failed[0]["response"]["status_code"] == 404
    # Each line's body is what the live endpoint answers (greedy, same model, same prompt).
    first = next(r for r in ok if r["custom_id"] == "req-1")["response"]["body"]
    live = client.chat.completions.create(**lines[1]["body"])
    assert first["choices"][0]["message"]["content"] == live.choices[0].message.content
    assert first["usage"]["prompt_tokens"] == live.usage.prompt_tokens
    assert client.batches.list().data[0].id == batch.id
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"


def test_embeddings_and_completions_batches(client) -> None:
    for endpoint, body in [
        ("/v1/completions", {"model": "tiny", "prompt": "import ", "max_tokens": 4}),
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": "hello"}),
    ]:
        lines = [
            {"custom_id": f"c{i}", "method": "POST", "url": endpoint, "body": body}
            for i in range(2)
        ]
        upload = client.files.create(file=("x.jsonl", _jsonl(lines)), purpose="batch")
        done = _wait(
            client,
            client.batches.create(
                input_file_id=upload.id, endpoint=endpoint, completion_window="24h"
            ).id,
        )
        results = _results(client, done.output_file_id)
        assert done.request_counts.completed == 2, _results(client, done.error_file_id)
        assert all(r["response"]["status_code"] == 200 for r in results)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
            b'{"custom_id": "b", "method": "POST"',
            "Line 2: not valid JSON",
        ),
        (
            _jsonl([_chat_line(1, "tiny"), _chat_line(2, "tiny"), _chat_line(1, "tiny")]),
            "Line 3: custom_id 'req-1' is already used on line 1",
        ),
        (_jsonl([{**_chat_line(1, "tiny"), "url": "/v1/images"}]), "Line 1: 'url'"),
        (_jsonl([{**_chat_line(1, "tiny"), "method": "GET"}]), "Line 1: 'method'"),
        (_jsonl([{**_chat_line(1, "tiny"), "body": []}]), "Line 1: 'body'"),
        (b"\n\n", "no requests"),
    ],
)
def test_bad_files_are_refused_naming_the_line(client, content: bytes, needle: str) -> None:
    before = len(client.files.list().data)
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("bad.jsonl", content), purpose="batch")
    assert needle in err.value.body["message"]
    assert len(client.files.list().data) == before  # nothing half-stored


def test_bad_batch_requests(client) -> None:
    upload = client.files.create(
        file=("ok.jsonl", _jsonl([_chat_line(1, "tiny")])), purpose="batch"
    )
    with pytest.raises(openai.BadRequestError) as endpoint:
        client.batches.create(
            input_file_id=upload.id, endpoint="/v1/moderations", completion_window="24h"
        )
    assert endpoint.value.body["param"] == "endpoint"
    with pytest.raises(openai.BadRequestError) as mismatch:
        client.batches.create(
            input_file_id=upload.id, endpoint="/v1/completions", completion_window="24h"
        )
    assert "Line 1" in mismatch.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h"
        )
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("ok.jsonl", b"{}"), purpose="fine-tune")
    client.files.delete(upload.id)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(upload.id)


def _new_server(dialect_models: Path, data: Path, concurrency: int) -> ServerProcess:
    env = {
        **dialect_env(dialect_models, data),
        "MP_BATCH_CONCURRENCY": str(concurrency),
        "MP_PRELOAD_DEFAULT_MODEL": "true",
    }
    return ServerProcess(env, log_path=data / "server.log")


def test_cancel_keeps_finished_results(tmp_path: Path, dialect_models: Path) -> None:
    server = _new_server(dialect_models, tmp_path, concurrency=1).start()
    try:
        client = _client(server)
        lines = [_chat_line(i, "tiny", max_tokens=48) for i in range(40)]
        upload = client.files.create(file=("many.jsonl", _jsonl(lines)), purpose="batch")
        batch = client.batches.create(
            input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        while client.batches.retrieve(batch.id).request_counts.completed < 2:
            time.sleep(0.05)
        client.batches.cancel(batch.id)
        done = _wait(client, batch.id)
        assert done.status == "cancelled" and done.cancelled_at is not None
        kept = _results(client, done.output_file_id)
        assert 2 <= len(kept) == done.request_counts.completed < 40
        assert len({r["custom_id"] for r in kept}) == len(kept)
        with pytest.raises(openai.ConflictError):
            client.batches.cancel(batch.id)
    finally:
        server.stop()


def _recorded(data: Path) -> dict[str, str]:
    """custom_id -> result id of every line the server has committed."""
    conn = sqlite3.connect(data / "playground.sqlite3")
    try:
        rows = conn.execute(
            "SELECT custom_id, result FROM batch_lines WHERE status != 'pending'"
        ).fetchall()
    finally:
        conn.close()
    return {cid: json.loads(result)["id"] for cid, result in rows}


def test_kill_9_mid_batch_then_restart_completes_exactly_once(
    tmp_path: Path, dialect_models: Path
) -> None:
    server = _new_server(dialect_models, tmp_path, concurrency=2).start()
    try:
        client = _client(server)
        lines = [_chat_line(i, "tiny", max_tokens=16) for i in range(50)]
        upload = client.files.create(file=("fifty.jsonl", _jsonl(lines)), purpose="batch")
        batch = client.batches.create(
            input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        while client.batches.retrieve(batch.id).request_counts.completed < 5:
            time.sleep(0.02)
        server.kill()
        before = _recorded(tmp_path)
        assert 5 <= len(before) < 50, "the kill must land mid-batch"
        server.start()
        done = _wait(client, batch.id)
        assert done.status == "completed"
        assert done.request_counts.total == 50 and done.request_counts.completed == 50
        results = _results(client, done.output_file_id)
        assert len(results) == 50
        assert sorted(r["custom_id"] for r in results) == sorted(f"req-{i}" for i in range(50))
        # Lines finished before the kill were not run again: same result ids as recorded.
        by_id = {r["custom_id"]: r["id"] for r in results}
        assert all(by_id[cid] == rid for cid, rid in before.items())
    finally:
        server.stop()
