"""State survives a restart; deleting a document removes its file, rows and every vector."""

from __future__ import annotations

import uuid

from tests.rag.client import chroma_count, create_collection, ingest, ingest_items
from tests.rag.conftest import RagApp
from tests.rag.corpus import corpus_files


def test_restart_keeps_documents_tags_and_vectors(rag_embedded: RagApp) -> None:
    name = f"persist-{uuid.uuid4().hex[:8]}"
    question = {"collection": name, "query": "Which apple grows in Quartz Valley?", "top_k": 3}
    with rag_embedded.client() as client:
        collection = create_collection(client, name)
        ids = ingest(client, name, corpus_files(), tags='["kept"]', metadata='{"n": 7}')
        before_docs = client.get("/api/v1/rag/documents", params={"collection": name}).json()
        before = client.post("/api/v1/rag/query", json=question).json()["chunks"]
    chunks = sum(d["chunks"] for d in before_docs)

    rag_embedded.server.stop()
    try:
        # Counted by Chroma itself while the app is down (embedded stores are single-process).
        assert chroma_count(None, rag_embedded.data_dir, f"kb_{collection['id']}") == chunks
    finally:
        rag_embedded.server.start()

    with rag_embedded.client() as client:
        after_docs = client.get("/api/v1/rag/documents", params={"collection": name}).json()
        assert after_docs == before_docs
        assert all(d["tags"] == ["kept"] and d["metadata"] == {"n": 7} for d in after_docs)
        after = client.post("/api/v1/rag/query", json=question).json()["chunks"]
        assert [c["chunk_id"] for c in after] == [c["chunk_id"] for c in before]
        assert after[0]["page"] == 2
        tagged = client.post(
            "/api/v1/rag/query",
            json={**question, "filters": {"tags": ["kept"], "document_ids": [ids["almanac.pdf"]]}},
        ).json()["chunks"]
        assert tagged and {c["filename"] for c in tagged} == {"almanac.pdf"}


def test_delete_document_leaves_no_vectors(rag_remote: RagApp) -> None:
    name = f"delete-{uuid.uuid4().hex[:8]}"
    with rag_remote.client() as client:
        collection = create_collection(client, name)
        vector_name = f"kb_{collection['id']}"
        items = ingest_items(client, name, corpus_files())
        pdf_id = items["almanac.pdf"]["document_id"]
        doc = client.get(f"/api/v1/rag/documents/{pdf_id}").json()
        assert (
            chroma_count(rag_remote.chroma_url, rag_remote.data_dir, vector_name, pdf_id)
            == doc["chunks"]
            > 0
        )
        stored = rag_remote.data_dir / "rag" / "files" / f"{pdf_id}.pdf"
        assert stored.exists()

        assert client.delete(f"/api/v1/rag/documents/{pdf_id}").status_code == 204
        assert chroma_count(rag_remote.chroma_url, rag_remote.data_dir, vector_name, pdf_id) == 0
        assert not stored.exists()
        assert client.get(f"/api/v1/rag/documents/{pdf_id}").status_code == 404
        assert client.get(f"/api/v1/rag/jobs/{items['almanac.pdf']['job_id']}").status_code == 404
        left = client.get("/api/v1/rag/documents", params={"collection": name}).json()
        assert {d["filename"] for d in left} == {"water.txt", "orbis.md"}
        assert chroma_count(rag_remote.chroma_url, rag_remote.data_dir, vector_name) == sum(
            d["chunks"] for d in left
        )
        assert client.delete(f"/api/v1/rag/documents/{pdf_id}").status_code == 404

        # A re-upload of the same bytes is a duplicate only while the first copy exists.
        again = client.post(
            "/api/v1/rag/documents", data={"collection": name}, files=[("files", corpus_files()[1])]
        ).json()["items"][0]
        assert again["duplicate"] and again["job_id"] is None

        assert client.delete(f"/api/v1/rag/collections/{name}").status_code == 204
        assert client.get(f"/api/v1/rag/collections/{name}").status_code == 404
        assert (
            client.get("/api/v1/rag/documents", params={"collection": collection["id"]}).status_code
            == 404
        )
