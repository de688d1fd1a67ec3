"""Every job kind on both runners, through the real server: submit, progress, cancel,
kill -9 and resume.

For each runner (in this process; the Redis queue with the server's own worker) one server runs
a job of every kind -- a download from a local Hub, an ingestion, an OpenAI batch and a RAG
evaluation -- and cancels it once it shows progress. Then a second job of every kind starts,
the server is killed with SIGKILL while all four run, and after a restart each ends complete
exactly once: the model is in place, the document has one vector per chunk, every batch line
has one result, the evaluation has its scores.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.downloads.conftest import TINY_REPO, app_env, hub  # noqa: F401 (fixture)
from tests.helpers.hub_server import HubServer
from tests.helpers.server import ServerProcess
from tests.rag.client import chroma_count, create_collection, upload
from tests.rag.corpus import make_pdf
from tests.shared.conftest import redis_server  # noqa: F401 (fixture)

FACTS = [
    f"Entry {i}: the harbour of town number {i} has {i * 3} piers and a "
    f"{'red' if i % 2 else 'green'} tower."
    for i in range(1, 31)
]
QUESTIONS = [
    {"question": f"How many piers does town number {i} have?", "document": "base.pdf", "pages": [i]}
    for i in range(1, 31)
]
LINES = 40
CONFIGS = [
    {"name": f"dense-{size}", "chunk_size": size, "chunk_overlap": 0, "mode": "dense"}
    for size in (24, 48)
]


def _until(check: Callable[[], object], what: str, timeout: float = 180) -> object:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


@dataclass
class Node:
    """The server under test and what it needs to start jobs of every kind."""

    server: ServerProcess
    hub: HubServer
    root: Path
    shared: bool  # the queue runner: other processes may run the jobs

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=120)


@pytest.fixture(params=["in-process", "queue"])
def node(
    request: pytest.FixtureRequest,
    hub: HubServer,  # noqa: F811 (the fixture imported above)
    tiny_model_dir: Path,
    tmp_path: Path,
) -> Iterator[Node]:
    extra = {
        "MP_RAG_EMBEDDING_BATCH_SIZE": "2",  # many small steps: the kill lands mid-job
        "MP_BATCH_CONCURRENCY": "1",
        "MP_JOB_VISIBILITY_TIMEOUT_S": "3",  # a killed worker's job is taken again within 3 s
    }
    if request.param == "queue":
        redis_server = request.getfixturevalue("redis_server")
        extra["MP_REDIS_URL"] = redis_server.url.removesuffix("/0") + "/2"
        redis_server.flush()
    env = app_env(hub, tmp_path, **extra)
    (tmp_path / "models" / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    server = ServerProcess(env, log_path=tmp_path / "server.log").start()
    yield Node(server, hub, tmp_path, shared=request.param == "queue")
    hub.unpause.set()
    server.stop()


# --- one driver per kind: start a job, read its progress and state, cancel it ----------------


def start_download(node: Node, c: httpx.Client, name: str) -> str:
    weights = node.hub.repos[TINY_REPO].files["model.safetensors"]
    node.hub.pause_once(f"{TINY_REPO}/model.safetensors", weights.size // 3)
    r = c.post("/api/v1/downloads", json={"repo_id": TINY_REPO, "name": name})
    assert r.status_code in (200, 201, 202), r.text
    return r.json()["id"]


def start_ingest(c: httpx.Client, name: str) -> str:
    # Four times the base document, embedded two chunks a step: it outlasts the others' start.
    pdf = make_pdf([f"{name} {n}: {fact}" for n in range(4) for fact in FACTS])
    r = upload(c, "kinds", [(f"{name}.pdf", pdf, "application/pdf")])
    assert r.status_code in (200, 202), r.text
    return r.json()["items"][0]["job_id"]


def start_batch(c: httpx.Client) -> str:
    lines = [
        {
            "custom_id": f"line-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "tiny",
                "messages": [{"role": "user", "content": f"Count to {i}."}],
                "max_tokens": 48,
                "temperature": 0,
            },
        }
        for i in range(LINES)
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    f = c.post("/v1/files", data={"purpose": "batch"}, files={"file": ("b.jsonl", data)})
    assert f.status_code == 200, f.text
    r = c.post(
        "/v1/batches",
        json={
            "input_file_id": f.json()["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


def start_eval(c: httpx.Client) -> str:
    r = c.post(
        "/api/v1/rag/evaluations",
        json={"collection": "kinds", "questions": QUESTIONS, "configurations": CONFIGS},
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def download(c: httpx.Client, job_id: str) -> dict:
    return c.get(f"/api/v1/downloads/{job_id}").json()


def ingest_job(c: httpx.Client, job_id: str) -> dict:
    return c.get(f"/api/v1/rag/jobs/{job_id}").json()


def batch(c: httpx.Client, batch_id: str) -> dict:
    return c.get(f"/v1/batches/{batch_id}").json()


def evaluation(c: httpx.Client, evaluation_id: str) -> dict:
    return c.get(f"/api/v1/rag/evaluations/{evaluation_id}").json()


def progressed(c: httpx.Client, ids: dict[str, str]) -> dict[str, bool]:
    """Whether each job shows progress and is still running."""
    d, j, b, e = (
        download(c, ids["download"]),
        ingest_job(c, ids["ingest"]),
        batch(c, ids["batch"]),
        evaluation(c, ids["rag-eval"]),
    )
    for name, state in (("download", d), ("ingest", j), ("rag-eval", e)):
        assert state["status"] not in ("succeeded", "completed", "failed"), (name, state)
    assert b["status"] == "in_progress", b
    return {
        "download": d["status"] == "running" and d["bytes_done"] > 0,
        "ingest": (j.get("chunks_embedded") or 0) > 0,
        "batch": b["request_counts"]["completed"] > 0,
        "rag-eval": e["status"] == "running" and e["progress"] > 0,
    }


def start_all(node: Node, c: httpx.Client, tag: str) -> dict[str, str]:
    ids = {
        "download": start_download(node, c, f"tiny-{tag}"),
        "ingest": start_ingest(c, tag),
        "batch": start_batch(c),
        "rag-eval": start_eval(c),
    }
    _until(lambda: all(progressed(c, ids).values()), f"progress of every {tag} job")
    return ids


def test_every_kind_cancels_and_survives_a_kill(node: Node) -> None:
    with node.client() as c:
        create_collection(c, "kinds", chunk_size=32, chunk_overlap=0)
        base = upload(c, "kinds", [("base.pdf", make_pdf(FACTS), "application/pdf")]).json()
        base_job = base["items"][0]["job_id"]
        _until(lambda: ingest_job(c, base_job)["status"] == "succeeded", "the base document")

        # Submit, progress, cancel: each kind through the API a user has for it.
        first = start_all(node, c, "first")
        doc = ingest_job(c, first["ingest"])["document_id"]
        assert c.post(f"/api/v1/downloads/{first['download']}/cancel").status_code == 200
        node.hub.unpause.set()  # the cancel closed the held transfer; free the hub's thread
        assert c.delete(f"/api/v1/rag/documents/{doc}").status_code == 204
        assert c.post(f"/v1/batches/{first['batch']}/cancel").status_code == 200
        assert c.delete(f"/api/v1/rag/evaluations/{first['rag-eval']}").status_code == 204
        assert download(c, first["download"])["status"] == "cancelled"
        # A deleted document takes its job with it.
        assert c.get(f"/api/v1/rag/jobs/{first['ingest']}").status_code == 404
        assert c.get(f"/api/v1/rag/documents/{doc}").status_code == 404
        stopped = _until(
            lambda: (b := batch(c, first["batch"]))["status"] == "cancelled" and b,
            "the cancelled batch",
        )
        assert stopped["request_counts"]["completed"] < LINES
        assert c.get(f"/api/v1/rag/evaluations/{first['rag-eval']}").status_code == 404

        # Submit, progress, kill -9 with all four running.
        second = start_all(node, c, "second")
    node.server.kill()
    node.hub.unpause.set()
    # As if killed while writing an upload, before its row: removed at the start (in-process;
    # with a queue a young file may be another replica's upload in flight, so it stays).
    orphan = node.root / "data" / "rag" / "files" / "0123456789abcdef.pdf"
    orphan.write_bytes(b"%PDF-1.7 partial")
    node.server.start()
    assert orphan.exists() == node.shared

    with node.client() as c:
        ended = {
            "download": lambda: download(c, second["download"])["status"] == "completed",
            "ingest": lambda: ingest_job(c, second["ingest"])["status"] == "succeeded",
            "batch": lambda: batch(c, second["batch"])["status"] == "completed",
            "rag-eval": lambda: evaluation(c, second["rag-eval"])["status"] == "succeeded",
        }
        for kind, check in ended.items():
            _until(check, f"the resumed {kind} job", timeout=300)
        # Each complete exactly once.
        assert (node.root / "models" / "tiny-second" / "model.safetensors").is_file()
        job = ingest_job(c, second["ingest"])
        document = c.get(f"/api/v1/rag/documents/{job['document_id']}").json()
        assert document["status"] == "ready" and document["chunks"] == job["chunks_total"] > 0
        done = batch(c, second["batch"])
        assert done["request_counts"] == {"total": LINES, "completed": LINES, "failed": 0}
        output = c.get(f"/v1/files/{done['output_file_id']}/content").text.splitlines()
        ids = [json.loads(line)["custom_id"] for line in output]
        assert sorted(ids) == sorted(f"line-{i}" for i in range(LINES))
        scores = evaluation(c, second["rag-eval"])
        assert [s["config"]["name"] for s in scores["configurations"]] == [
            cfg["name"] for cfg in CONFIGS
        ]
        collection = c.get("/api/v1/rag/collections/kinds").json()
    node.server.stop()
    vectors = chroma_count(None, node.root / "data", f"kb_{collection['id']}", job["document_id"])
    assert vectors == document["chunks"]
