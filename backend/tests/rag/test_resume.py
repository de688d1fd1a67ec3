"""An ingestion killed mid-way (SIGKILL) resumes at the next start and ends complete: no
duplicate or missing vectors."""

from __future__ import annotations

import httpx

from tests.helpers.server import ServerProcess
from tests.rag.client import chroma_count, create_collection, follow_job, sse_events, upload
from tests.rag.corpus import make_pdf


def test_killed_ingestion_resumes_after_restart(tmp_path, models_dir) -> None:
    server = ServerProcess(
        {
            "MP_MODELS_DIR": str(models_dir),
            "MP_DATA_DIR": str(tmp_path),
            "MP_THREADS": "1",
            "MP_RAG_EMBEDDING_BATCH_SIZE": "2",  # many small batches: the kill lands mid-job
        },
        log_path=tmp_path / "server.log",
    ).start()
    facts = [
        f"Entry {i}: the harbour of town number {i} has {i * 3} piers and a "
        f"{'red' if i % 2 else 'green'} tower."
        for i in range(1, 31)
    ]
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            collection = create_collection(client, "resume")
            item = upload(
                client, "resume", [("long.pdf", make_pdf(facts), "application/pdf")]
            ).json()["items"][0]
            with client.stream("GET", f"/api/v1/rag/jobs/{item['job_id']}/events") as events:
                for _, data in sse_events(events):
                    assert data["status"] != "succeeded", "finished before it could be killed"
                    if data["chunks_embedded"] > 0:
                        break
        server.kill()
        orphan = tmp_path / "rag" / "files" / "0123456789abcdef.pdf"  # as if killed mid-write
        orphan.write_bytes(b"%PDF-1.7 partial")
        server.start()
        assert not orphan.exists()
        with httpx.Client(base_url=server.url, timeout=120) as client:
            final = follow_job(client, item["job_id"])[-1]
            assert final["status"] == "succeeded", final
            doc = client.get(f"/api/v1/rag/documents/{item['document_id']}").json()
            assert doc["status"] == "ready" and doc["chunks"] == final["chunks_total"] > 0
            hit = client.post(
                "/api/v1/rag/query",
                json={
                    "collection": "resume",
                    "query": "How many piers does town number 27 have?",
                    "top_k": 3,
                },
            ).json()["chunks"]
            assert 27 in [c["page"] for c in hit]
        server.stop()
        assert chroma_count(None, tmp_path, f"kb_{collection['id']}") == doc["chunks"]
    finally:
        server.stop()
