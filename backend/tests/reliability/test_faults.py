"""One crash hitting everything at once: SIGKILL while a download is part way through a file
and an ingestion is part way through its embeddings (auth on), then a restart. The download
resumes and verifies, the ingestion completes with exactly one vector per chunk and no orphan
files, keys still work, and the server serves as before.

(The downloads and RAG suites each test their own kill -9 alone; this one checks the recovery
paths together, in one process, with the reliability settings on.)"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx

from tests.helpers.hub_server import HubServer
from tests.rag.client import chroma_count, create_collection, follow_job, sse_events, upload
from tests.rag.corpus import make_pdf
from tests.reliability.conftest import start_server
from tests.security.conftest import cli_create_key

REPO = "org/tiny"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_download(client: httpx.Client, job_id: str, limit_s: float = 300) -> dict:
    deadline = time.monotonic() + limit_s
    while True:
        job = client.get(f"/api/v1/downloads/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_kill_9_during_download_and_ingestion(tmp_path_factory, tiny_model_dir, models_dir):
    hub = HubServer().start()
    hub.add_repo(REPO, tiny_model_dir)
    weights = hub.repos[REPO].files["model.safetensors"]
    hub.pause_once(f"{REPO}/model.safetensors", weights.size // 3)
    models = tmp_path_factory.mktemp("crash-models")
    (models / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    data_dir = tmp_path_factory.mktemp("crash-keys")
    _, key = cli_create_key(data_dir, "crash-test")
    server = start_server(
        tmp_path_factory,
        models,
        "crash",
        MP_DATA_DIR=str(data_dir),
        MP_AUTH_ENABLED="true",
        MP_RAG_EMBEDDING_BATCH_SIZE="2",  # many small batches: the kill lands mid-job
        MP_DOWNLOAD_RESERVE_BYTES="0",
        HF_ENDPOINT=hub.url,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(tmp_path_factory.mktemp("crash-hf-home")),
    )
    headers = {"Authorization": f"Bearer {key}"}
    facts = [f"Entry {i}: the harbour of town number {i} has {i * 3} piers." for i in range(1, 31)]
    try:
        with httpx.Client(base_url=server.url, timeout=120, headers=headers) as client:
            download = client.post(
                "/api/v1/downloads", json={"repo_id": REPO, "name": "tiny-crash"}
            )
            assert download.status_code == 202, download.text
            job_id = download.json()["id"]
            assert hub.paused.wait(120), "the download never reached the weights"

            collection = create_collection(client, "crash-kb")
            item = upload(
                client, "crash-kb", [("facts.pdf", make_pdf(facts), "application/pdf")]
            ).json()["items"][0]
            with client.stream("GET", f"/api/v1/rag/jobs/{item['job_id']}/events") as events:
                for _, progress in sse_events(events):
                    assert progress["status"] != "succeeded", "finished before the kill"
                    if progress["chunks_embedded"] > 0:
                        break
            assert client.get(f"/api/v1/downloads/{job_id}").json()["status"] == "running"

        server.kill()  # SIGKILL: nothing saved, nothing cleaned up
        hub.unpause.set()
        server.start()

        with httpx.Client(base_url=server.url, timeout=120, headers=headers) as client:
            job = _wait_download(client, job_id)
            assert job["status"] == "completed", job
            for f in hub.repos[REPO].files.values():
                assert _sha256(models / "tiny-crash" / f.path) == f.sha256, f.path
            assert not list(models.glob(".*partial*")), list(models.iterdir())

            final = follow_job(client, item["job_id"])[-1]
            assert final["status"] == "succeeded", final
            doc = client.get(f"/api/v1/rag/documents/{item['document_id']}").json()
            assert doc["status"] == "ready" and doc["chunks"] == final["chunks_total"] > 0
            stored = sorted(p.name for p in (data_dir / "rag" / "files").iterdir())
            assert len(stored) == 1, stored  # the one document's file, no leftovers

            # The downloaded model serves; the key made before the crash still works.
            answer = client.post(
                "/api/v1/models/generate",
                json={"model": "tiny-crash", "prompt": "Hello", "max_tokens": 4, "temperature": 0},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["usage"]["completion_tokens"] >= 1
            hits = client.post(
                "/api/v1/rag/query", json={"collection": "crash-kb", "query": "piers of town 7"}
            )
            assert hits.status_code == 200 and hits.json()["chunks"]

            # What happened since the restart shows in the metrics (a key is needed there too).
            assert httpx.get(f"{server.url}/metrics", timeout=60).status_code == 401
            text = client.get("/metrics").text
            for sample in (
                'mp_downloads_finished_total{status="completed"} 1.0',
                'mp_rag_documents_total{status="succeeded"} 1.0',
                'mp_model_events_total{backend="transformers",event="load"}',
                "mp_rag_query_seconds_count",
                "mp_download_bytes_total",
                "mp_rag_chunks_embedded_total",
            ):
                assert sample in text, sample
            assert "mp_downloads_active 0.0" in text
        server.stop()
        assert chroma_count(None, data_dir, f"kb_{collection['id']}") == doc["chunks"]
    finally:
        hub.unpause.set()
        server.stop()
        hub.stop()
