"""Retrieval quality with real MiniLM embeddings and real Chroma, embedded and as a server."""

from __future__ import annotations

import uuid

from tests.rag.client import create_collection, follow_job, upload
from tests.rag.conftest import RagApp
from tests.rag.corpus import QUESTIONS, corpus_files


def test_questions_retrieve_the_right_page(rag_app: RagApp) -> None:
    name = f"almanac-{uuid.uuid4().hex[:8]}"
    with rag_app.client() as client:
        collection = create_collection(client, name)
        assert collection["embedding_model"] == "all-MiniLM-L6-v2"
        assert collection["dimension"] == 384
        response = upload(
            client, name, corpus_files(), tags="almanac,test", metadata='{"source": "generated"}'
        )
        assert response.status_code == 202, response.text
        items = response.json()["items"]
        assert [i["filename"] for i in items] == ["almanac.pdf", "water.txt", "orbis.md"]
        for item in items:
            events = follow_job(client, item["job_id"])
            final = events[-1]
            assert final["status"] == "succeeded", final
            assert final["chunks_embedded"] == final["chunks_total"] > 0
            if item["filename"] == "almanac.pdf":
                assert final["pages_total"] == final["pages_parsed"] == 8

        docs = client.get("/api/v1/rag/documents", params={"collection": name}).json()
        assert {d["status"] for d in docs} == {"ready"}
        assert all(d["tags"] == ["almanac", "test"] for d in docs)

        hits = 0
        for question in QUESTIONS:
            response = client.post(
                "/api/v1/rag/query", json={"collection": name, "query": question.text, "top_k": 3}
            )
            assert response.status_code == 200, response.text
            chunks = response.json()["chunks"]
            assert len(chunks) == 3
            assert chunks[0]["score"] >= chunks[-1]["score"]
            if any(
                c["filename"] == question.filename and c["page"] == question.page for c in chunks
            ):
                hits += 1
        assert hits >= 9, f"only {hits}/10 questions found their page in the top 3"


def test_filters_and_mmr(rag_app: RagApp) -> None:
    name = f"filters-{uuid.uuid4().hex[:8]}"
    with rag_app.client() as client:
        create_collection(client, name)
        files = corpus_files()
        ids = {}
        for (filename, data, ctype), tag in zip(files, ["pdf", "txt", "md"], strict=True):
            item = upload(client, name, [(filename, data, ctype)], tags=tag).json()["items"][0]
            assert follow_job(client, item["job_id"])[-1]["status"] == "succeeded"
            ids[filename] = item["document_id"]

        def query(**extra) -> list[dict]:
            response = client.post(
                "/api/v1/rag/query",
                json={
                    "collection": name,
                    "query": "Brightwater dam drinking water",
                    "top_k": 5,
                    **extra,
                },
            )
            assert response.status_code == 200, response.text
            return response.json()["chunks"]

        assert {c["filename"] for c in query(filters={"tags": ["pdf"]})} == {"almanac.pdf"}
        by_doc = query(filters={"document_ids": [ids["orbis.md"]]})
        assert by_doc and {c["document_id"] for c in by_doc} == {ids["orbis.md"]}
        assert all(c["heading_path"][0] == "Orbis Cloud handbook" for c in by_doc)
        both = query(filters={"tags": ["txt", "md"], "document_ids": [ids["water.txt"]]})
        assert {c["filename"] for c in both} == {"water.txt"}
        diverse = query(mmr=True, mmr_lambda=0.3)
        assert diverse[0]["filename"] == "water.txt"
        assert len({c["chunk_id"] for c in diverse}) == len(diverse) == 5
