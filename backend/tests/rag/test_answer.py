"""Cited answers: tokens stream from the tiny model; citations are the retrieved chunks."""

from __future__ import annotations

import uuid

import pytest

from tests.rag.client import create_collection, ingest, sse_events
from tests.rag.conftest import RagApp
from tests.rag.corpus import corpus_files


@pytest.fixture(scope="module")
def almanac(rag_embedded: RagApp) -> str:
    name = f"answer-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name)
        ingest(client, name, corpus_files())
    return name


def test_streamed_answer_cites_retrieved_pages(rag_embedded: RagApp, almanac: str) -> None:
    question = "How deep did the Nautilus-7 submarine go?"
    request = {
        "collection": almanac,
        "question": question,
        "top_k": 3,
        "max_tokens": 12,
        "temperature": 0,
        "stream": True,
        "backend": "transformers",
    }
    with rag_embedded.client() as client:
        retrieved = client.post(
            "/api/v1/rag/query", json={"collection": almanac, "query": question, "top_k": 3}
        ).json()["chunks"]
        events = []
        with client.stream("POST", "/api/v1/rag/answer", json=request) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = list(sse_events(response))
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done", names
    tokens = [data["text"] for name, data in events if name == "token"]
    assert tokens and "".join(tokens).strip()

    sources = events[0][1]
    citations = sources["citations"]
    assert citations, "no sources reached the prompt"
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    assert len(citations) + sources["sources_dropped"] == len(retrieved)
    by_id = {c["chunk_id"]: c for c in retrieved}
    for citation in citations:
        chunk = by_id[citation["chunk_id"]]
        assert citation["page"] == chunk["page"]
        assert citation["document_id"] == chunk["document_id"]
        assert citation["text"] == chunk["text"]
    # The best source is the page with the fact (page 4, numbered from 1).
    assert (citations[0]["filename"], citations[0]["page"]) == ("almanac.pdf", 4)

    done = events[-1][1]
    assert done["citations"] == citations
    assert done["answer"]["text"] == "".join(tokens)
    assert 1 <= done["answer"]["usage"]["completion_tokens"] <= 12


def test_answer_drops_sources_to_fit_context(rag_embedded: RagApp, almanac: str) -> None:
    # The tiny model reads 1024 tokens; asking for 900 leaves room for few sources.
    with rag_embedded.client() as client:
        response = client.post(
            "/api/v1/rag/answer",
            json={
                "collection": almanac,
                "question": "Tell me about the Velmont tunnel.",
                "top_k": 10,
                "max_tokens": 900,
                "temperature": 0,
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["sources_dropped"] > 0
        assert len(body["citations"]) + body["sources_dropped"] == 10
        usage = body["answer"]["usage"]
        assert usage["prompt_tokens"] + 900 <= 1024
        scores = [c["score"] for c in body["citations"]]
        assert scores == sorted(scores, reverse=True)

        missing = client.post(
            "/api/v1/rag/answer",
            json={"collection": almanac, "question": "x", "model": "no-such-model"},
        )
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "model_not_found"
