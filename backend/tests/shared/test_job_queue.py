"""Jobs on the Redis queue with real processes: two API replicas started with ``--no-worker``
and one ``playground worker``, sharing a redis-server, a PostgreSQL database, a Chroma server
and the shared folder (``MP_SHARED_DIR``); each process has a data folder of its own.

A document uploaded on replica A is ingested by the worker and streamed and answered on replica
B; a worker killed with SIGKILL mid-ingestion or mid-batch is replaced and the job ends with
one vector per chunk (document ready once) or every batch line exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers.postgres import PostgresServer
from tests.helpers.server import REPO_ROOT, ServerProcess, WorkerProcess, free_port, tiny_env
from tests.rag.client import chroma_count, create_collection, follow_job, sse_events, upload
from tests.rag.conftest import chroma_server  # noqa: F401 (fixture)
from tests.rag.corpus import make_pdf
from tests.shared.conftest import RedisServer


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    worker: WorkerProcess
    data: Path  # logs, and the folders of the processes
    chroma_url: str
    database_url: str

    def job_states(self, document_id: str) -> list[str]:
        engine = create_engine(self.database_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT status FROM rag_jobs WHERE document_id = :id"), {"id": document_id}
                )
                return [r[0] for r in rows]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    models_dir: Path,
    redis_server: RedisServer,
    chroma_server: str,  # noqa: F811
    postgres: PostgresServer,
) -> Iterator[Cluster]:
    redis_server.flush()
    data = tmp_path_factory.mktemp("queue-data")
    database_url = postgres.create_database("queue")
    env = {
        **tiny_env(models_dir, data / "shared-data-unused"),
        "MP_DATABASE_URL": database_url,
        "MP_SHARED_DIR": str(data / "shared"),
        "MP_REDIS_URL": redis_server.url,
        "MP_RAG_CHROMA_URL": chroma_server,
        "MP_JOB_VISIBILITY_TIMEOUT_S": "3",  # a dead worker's job is taken again within 3 s
        "MP_RAG_EMBEDDING_BATCH_SIZE": "2",  # many small steps: a kill lands mid-job
        "MP_BATCH_CONCURRENCY": "1",
    }
    # Each process its own data folder: what they share is only what the settings above name.
    a = ServerProcess(
        {**env, "MP_DATA_DIR": str(data / "a")}, log_path=data / "a.log", args=["--no-worker"]
    ).start()
    b = ServerProcess(
        {**env, "MP_DATA_DIR": str(data / "b"), "MP_SERVE_WORKER": "false"},
        log_path=data / "b.log",
    ).start()
    worker = WorkerProcess(
        {**env, "MP_DATA_DIR": str(data / "worker")}, log_path=data / "worker.log"
    ).start()
    yield Cluster(a, b, worker, data, chroma_server, database_url)
    worker.stop()
    a.stop()
    b.stop()


FACTS = [
    f"Entry {i}: the harbour of town number {i} has {i * 3} piers and a "
    f"{'red' if i % 2 else 'green'} tower."
    for i in range(1, 41)
]


def _ingested_once(cluster: Cluster, collection: dict, item: dict, final: dict) -> None:
    assert final["status"] == "succeeded", final
    with httpx.Client(base_url=cluster.b.url, timeout=60) as client:
        doc = client.get(f"/api/v1/rag/documents/{item['document_id']}").json()
    assert doc["status"] == "ready" and doc["chunks"] == final["chunks_total"] > 0
    vectors = chroma_count(
        cluster.chroma_url, cluster.data, f"kb_{collection['id']}", item["document_id"]
    )
    assert vectors == doc["chunks"]
    assert cluster.job_states(item["document_id"]) == ["succeeded"]


def test_upload_on_a_is_ingested_by_the_worker_and_served_by_b(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.a.url, timeout=120) as a:
        collection = create_collection(a, "shared-kb")
        # B opens the (empty) knowledge base's BM25 index before the document exists.
        empty = httpx.post(
            f"{cluster.b.url}/api/v1/rag/query",
            json={"collection": "shared-kb", "query": "piers", "mode": "lexical"},
            timeout=60,
        )
        assert empty.status_code == 200 and empty.json()["chunks"] == [], empty.text
        response = upload(a, "shared-kb", [("towns.pdf", make_pdf(FACTS[:12]), "application/pdf")])
        assert response.status_code == 202, response.text
        item = response.json()["items"][0]
    with httpx.Client(base_url=cluster.b.url, timeout=120) as b:
        events = follow_job(b, item["job_id"])  # the progress stream, served by B
        assert len(events) > 2 and events[-1]["chunks_embedded"] == events[-1]["chunks_total"]
        _ingested_once(cluster, collection, item, events[-1])
        question = "How many piers does town number 7 have?"
        hits = b.post(
            "/api/v1/rag/query", json={"collection": "shared-kb", "query": question, "top_k": 3}
        ).json()["chunks"]
        assert 7 in [c["page"] for c in hits]
        lexical = b.post(
            "/api/v1/rag/query",
            json={"collection": "shared-kb", "query": question, "top_k": 3, "mode": "lexical"},
        ).json()["chunks"]
        assert 7 in [c["page"] for c in lexical]  # B's BM25 index picked up the worker's doc
        answer = b.post(
            "/api/v1/rag/answer",
            json={"collection": "shared-kb", "question": question, "max_tokens": 8},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["citations"]
    # Neither replica ran the job: the worker did.
    assert "ingestion job" not in (cluster.data / "a.log").read_text()
    assert item["job_id"] in (cluster.data / "worker.log").read_text()


def _upload_until_embedding(
    client: httpx.Client, kb: str, name: str, facts: list[str], then: str
) -> dict:
    """Upload a PDF of ``facts`` and return its item once its first vectors are stored (the job
    is mid-way: the moment to kill or stop the worker)."""
    item = upload(client, kb, [(name, make_pdf(facts), "application/pdf")]).json()["items"][0]
    with client.stream("GET", f"/api/v1/rag/jobs/{item['job_id']}/events") as events:
        for _, data in sse_events(events):
            assert data["status"] != "succeeded", f"finished before it could be {then}"
            if data["chunks_embedded"] > 0:
                break
    return item


def test_worker_killed_mid_ingestion_is_replaced_and_the_job_ends_once(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.a.url, timeout=120) as a:
        collection = create_collection(a, "kill-kb")
        item = _upload_until_embedding(a, "kill-kb", "long.pdf", FACTS, "killed")
    cluster.worker.kill()
    killed = time.monotonic()
    cluster.worker.start()
    with httpx.Client(base_url=cluster.b.url, timeout=120) as b:
        final = follow_job(b, item["job_id"])[-1]
    print(f"killed worker's ingestion finished {time.monotonic() - killed:.1f} s after the kill")
    _ingested_once(cluster, collection, item, final)


def test_worker_stopped_with_sigterm_hands_its_job_back(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.a.url, timeout=120) as a:
        collection = create_collection(a, "stop-kb")
        facts = [f.replace("harbour", "market") for f in FACTS]
        item = _upload_until_embedding(a, "stop-kb", "stop.pdf", facts, "stopped")
    cluster.worker.stop()
    assert cluster.worker.proc is not None and cluster.worker.proc.returncode == 0
    assert f"handed back ingest {item['job_id']}" in (cluster.data / "worker.log").read_text()
    cluster.worker.start()
    with httpx.Client(base_url=cluster.b.url, timeout=120) as b:
        final = follow_job(b, item["job_id"])[-1]
    _ingested_once(cluster, collection, item, final)


def test_job_past_its_tries_is_marked_failed_and_rolled_back(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.a.url, timeout=120) as a:
        collection = create_collection(a, "tries-kb")
        facts = [f.replace("harbour", "castle") for f in FACTS]
        item = _upload_until_embedding(a, "tries-kb", "t.pdf", facts, "killed")
    cluster.worker.kill()
    strict = WorkerProcess(
        {**cluster.worker.env, "MP_JOB_MAX_TRIES": "1"}, log_path=cluster.data / "strict.log"
    ).start()
    try:
        with httpx.Client(base_url=cluster.b.url, timeout=120) as b:
            final = follow_job(b, item["job_id"])[-1]
            assert final["status"] == "failed" and "gave up after 1 tries" in final["error"]
            assert b.get(f"/api/v1/rag/documents/{item['document_id']}").status_code == 404
    finally:
        strict.stop()
        cluster.worker.start()
    vectors = chroma_count(
        cluster.chroma_url, cluster.data, f"kb_{collection['id']}", item["document_id"]
    )
    assert vectors == 0


def _line(i: int) -> dict:
    return {
        "custom_id": f"req-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "tiny",
            "max_tokens": 24,
            "temperature": 0,
            "messages": [{"role": "user", "content": f"def task_{i}():"}],
        },
    }


def test_redis_restarted_mid_run_loses_no_job(cluster: Cluster, redis_server: RedisServer) -> None:
    """Redis goes away (and comes back empty: no persistence here) while a document is uploaded:
    the upload is kept, the worker reconnects, its sweep queues the job from the database row,
    and the job ends once, with its progress served by the other replica."""
    with httpx.Client(base_url=cluster.a.url, timeout=120) as a:
        collection = create_collection(a, "restart-kb")
        redis_server.stop()
        try:
            response = upload(a, "restart-kb", [("r.txt", FACTS[5].encode(), "text/plain")])
            assert response.status_code == 202, response.text
            item = response.json()["items"][0]
            time.sleep(1)  # the worker's Redis loop has failed by now
        finally:
            redis_server.start()
    with httpx.Client(base_url=cluster.b.url, timeout=120) as b:
        events = follow_job(b, item["job_id"])
    _ingested_once(cluster, collection, item, events[-1])


def _create_batch(url: str, lines: list[dict], name: str) -> dict:
    """A batch of ``lines`` created on the replica at ``url`` (its input file uploaded there)."""
    body = ("\n".join(json.dumps(line) for line in lines) + "\n").encode()
    with httpx.Client(base_url=url, timeout=60) as client:
        file = client.post(
            "/v1/files", data={"purpose": "batch"}, files={"file": (name, body)}
        ).json()
        return client.post(
            "/v1/batches",
            json={
                "input_file_id": file["id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
        ).json()


def test_batch_on_a_survives_a_killed_worker_with_every_line_once(cluster: Cluster) -> None:
    lines = [_line(i) for i in range(30)]
    batch = _create_batch(cluster.a.url, lines, "in.jsonl")
    with httpx.Client(base_url=cluster.b.url, timeout=60) as b:
        deadline = time.monotonic() + 120
        while (counts := b.get(f"/v1/batches/{batch['id']}").json()["request_counts"])[
            "completed"
        ] < 3:
            assert time.monotonic() < deadline, counts
            time.sleep(0.05)
        assert counts["completed"] < len(lines), "finished before it could be killed"
        cluster.worker.kill()
        cluster.worker.start()
        deadline = time.monotonic() + 240
        while (done := b.get(f"/v1/batches/{batch['id']}").json())["status"] != "completed":
            assert time.monotonic() < deadline, done
            time.sleep(0.2)
        assert done["request_counts"] == {"total": 30, "completed": 30, "failed": 0}
        output = b.get(f"/v1/files/{done['output_file_id']}/content").text.splitlines()
    ids = [json.loads(line)["custom_id"] for line in output]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(30))  # each line once, none missing


def test_batch_cancelled_on_b_stops_on_the_worker(cluster: Cluster) -> None:
    lines = [_line(i) for i in range(30)]
    batch = _create_batch(cluster.a.url, lines, "c.jsonl")
    with httpx.Client(base_url=cluster.b.url, timeout=60) as b:
        deadline = time.monotonic() + 120
        while b.get(f"/v1/batches/{batch['id']}").json()["request_counts"]["completed"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert b.post(f"/v1/batches/{batch['id']}/cancel").status_code == 200
        deadline = time.monotonic() + 60
        while (done := b.get(f"/v1/batches/{batch['id']}").json())["status"] != "cancelled":
            assert time.monotonic() < deadline, done
            time.sleep(0.1)
        kept = done["request_counts"]["completed"]
        assert 2 <= kept < 30, done
        time.sleep(1.0)  # nothing more is recorded once it is cancelled
        assert b.get(f"/v1/batches/{batch['id']}").json()["request_counts"]["completed"] == kept
        output = b.get(f"/v1/files/{done['output_file_id']}/content").text.splitlines()
    ids = [json.loads(line)["custom_id"] for line in output]
    assert len(ids) == len(set(ids)) == kept


def test_single_serve_with_redis_runs_jobs_itself(
    tmp_path: Path, models_dir: Path, redis_server: RedisServer
) -> None:
    """Plain ``serve`` with Redis (no --no-worker) also runs the queue: one node needs no
    separate worker. Database 1 of the Redis keeps its queue apart from the cluster's."""
    env = {
        "MP_MODELS_DIR": str(models_dir),
        "MP_DATA_DIR": str(tmp_path),
        "MP_THREADS": "1",
        "MP_REDIS_URL": redis_server.url.removesuffix("/0") + "/1",
    }
    server = ServerProcess(env, log_path=tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            create_collection(client, "solo")
            item = upload(
                client, "solo", [("s.txt", b"Solo facts: the lake is 40 m deep.", "text/plain")]
            ).json()["items"][0]
            assert follow_job(client, item["job_id"])[-1]["status"] == "succeeded"
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "queue worker started" in log and f"ingest:{item['job_id']}" in log


def _worker_exit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MP_REDIS_URL"} | env
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_worker_without_redis_exits_with_a_clear_message(tmp_path: Path) -> None:
    done = _worker_exit({"MP_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and "MP_REDIS_URL" in done.stderr, done.stderr
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    done = _worker_exit({"MP_DATA_DIR": str(tmp_path), "MP_REDIS_URL": url})
    assert done.returncode == 2, done.stderr
    assert url in done.stderr and "not reachable" in done.stderr, done.stderr


def test_system_reports_the_queue_and_its_workers(cluster: Cluster) -> None:
    deployment = httpx.get(f"{cluster.a.url}/api/v1/system", timeout=30).json()["deployment"]
    assert deployment["database"] == "postgresql" and deployment["vector_store"] == "server"
    assert deployment["jobs"] == "queue" and deployment["runs_jobs"] is False  # --no-worker
    assert deployment["workers"] == 1  # the worker's host (this machine), counted once
    assert deployment["shared_dir"] == str(cluster.data / "shared")


def test_worker_check_reports_the_running_worker(cluster: Cluster, redis_server: RedisServer):
    env = {"MP_DATA_DIR": str(cluster.data), "MP_REDIS_URL": redis_server.url}
    done = _worker_exit(env, "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "worker healthy" in done.stdout
    # Another Redis database: no worker writes there, so the probe fails.
    other = {**env, "MP_REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/7"}
    done = _worker_exit(other, "--check")
    assert done.returncode == 1, done.stdout + done.stderr
