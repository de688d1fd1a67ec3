"""What the Documents page and the RAG lab show: contents pages dropped at ingestion (and
counted), scores that read on their own (rank, cosine, BM25 beside the fused score), and
question generation that says which model writes and how far it is."""

from __future__ import annotations

import uuid

import pymupdf

from app.services.rag.chunk_filter import drop_toc, is_toc
from app.services.rag.chunking import chunk_sections
from app.services.rag.loaders import parse
from tests.rag.client import create_collection, follow_job, sse_events, upload
from tests.rag.conftest import RagApp

TOPICS = ["Introduction", "Installation", "Pumps", "Valves", "Maintenance", "Troubleshooting"]
CONTENTS = "Contents\n\n" + "\n".join(
    f"{n}. {title} {'.' * (60 - len(title))} {n + 1}" for n, title in enumerate(TOPICS, 1)
)
BODY = {
    "Introduction": "This manual covers the Aquaflow 300 circulation pump and its controls.",
    "Installation": "Mount the pump with the shaft horizontal, the arrow pointing with the flow.",
    "Pumps": "The Aquaflow 300 needs an inlet pressure of at least 0.8 bar to avoid cavitation.",
    "Valves": "Close both isolation valves before opening the pump housing.",
    "Maintenance": "Descale the impeller every two years in hard-water areas.",
    "Troubleshooting": "A humming pump that does not turn has a seized rotor: free it gently.",
}


def manual_pdf() -> bytes:
    """A seven-page manual: a contents page of dot leaders, then one page per topic."""
    doc = pymupdf.open()
    doc.new_page().insert_textbox(pymupdf.Rect(72, 72, 523, 770), CONTENTS, fontsize=11)
    for n, title in enumerate(TOPICS, 1):
        text = f"{n}. {title}\n\n{BODY[title]} " + "Read the safety notes first. " * 6
        doc.new_page().insert_textbox(pymupdf.Rect(72, 72, 523, 770), text, fontsize=11)
    data = doc.tobytes()
    doc.close()
    return data


def test_contents_page_is_recognised_in_a_real_pdf() -> None:
    parsed = parse("manual.pdf", manual_pdf(), max_pages=20, structure=False)
    chunks = chunk_sections(parsed.sections, 200, 40)
    assert "....." in chunks[0].text and chunks[0].page == 1
    kept, dropped = drop_toc(chunks)
    assert dropped == 1 and all(c.page != 1 for c in kept) and len(kept) == len(TOPICS)
    # Prose with an ellipsis or a single leader line is kept.
    assert not is_toc("He paused.... then went on.\nThe pump started.\nIt ran for hours.")
    assert not is_toc("Pressure ........ 0.8 bar\nThe pump needs it.\nOtherwise it cavitates.")
    assert is_toc("Intro . . . . . 1\nSetup . . . . . 2\n3\nUse . . . . . . 4")


def test_contents_chunks_are_dropped_at_ingestion_and_counted(rag_embedded: RagApp) -> None:
    name = f"toc-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name)
        response = upload(client, name, [("manual.pdf", manual_pdf(), "application/pdf")])
        assert response.status_code == 202, response.text
        final = follow_job(client, response.json()["items"][0]["job_id"])[-1]
        assert final["status"] == "succeeded", final
        # The contents page: one or two chunks, depending on the chunk size.
        assert final["chunks_skipped"] >= 1 and final["chunks_total"] >= len(TOPICS)
        # A question naming every topic used to find the contents page first.
        found = client.post(
            "/api/v1/rag/query",
            json={"collection": name, "query": " ".join(TOPICS), "top_k": 10},
        ).json()["chunks"]
        assert found and all("....." not in c["text"] for c in found)
        assert all(c["page"] != 1 for c in found)


def test_query_gives_rank_cosine_and_bm25_beside_the_fused_score(rag_embedded: RagApp) -> None:
    name = f"scores-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name)
        response = upload(client, name, [("manual.pdf", manual_pdf(), "application/pdf")])
        follow_job(client, response.json()["items"][0]["job_id"])
        body = {"collection": name, "query": "What inlet pressure does the Aquaflow pump need?"}
        hybrid = client.post("/api/v1/rag/query", json={**body, "mode": "hybrid"}).json()
        chunks = hybrid["chunks"]
        assert [c["rank"] for c in chunks] == list(range(1, len(chunks) + 1))
        top = chunks[0]
        assert "0.8 bar" in top["text"]
        # The fused score of a top hit is about 2/61 = 0.033: it reads as "no match". The
        # cosine and the BM25 score beside it say how well it matches.
        assert top["score"] < 0.05 and top["similarity"] > 0.3
        assert top["bm25"] is not None and top["bm25"] > 1
        assert top["dense_rank"] >= 1 and top["lexical_rank"] >= 1
        dense = client.post("/api/v1/rag/query", json={**body, "mode": "dense"}).json()
        assert all(c["bm25"] is None and c["lexical_rank"] is None for c in dense["chunks"])
        assert [c["dense_rank"] for c in dense["chunks"]][0] == 1


def test_question_generation_streams_the_model_and_progress(rag_embedded: RagApp) -> None:
    name = f"gen-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name)
        response = upload(client, name, [("manual.pdf", manual_pdf(), "application/pdf")])
        follow_job(client, response.json()["items"][0]["job_id"])
        request = {"collection": name, "count": 3, "seed": 1, "stream": True}
        events = []
        with client.stream(
            "POST", "/api/v1/rag/evaluations/questions/generate", json=request, timeout=300
        ) as streamed:
            assert streamed.status_code == 200
            assert streamed.headers["content-type"].startswith("text/event-stream")
            events = list(sse_events(streamed))
        names = [n for n, _ in events]
        assert names == ["progress"] * 3 + ["done"], names
        progress = [d for n, d in events if n == "progress"]
        assert [(p["done"], p["total"]) for p in progress] == [(0, 3), (1, 3), (2, 3)]
        assert {p["model"] for p in progress} == {"tiny"}
        done = events[-1][1]
        assert done["model"] == "tiny" and len(done["questions"]) <= 3
        for q in done["questions"]:
            assert q["document"] == "manual.pdf" and q["pages"]
        # Without stream: the same questions as one JSON answer, naming the model too.
        plain = client.post(
            "/api/v1/rag/evaluations/questions/generate", json={**request, "stream": False}
        )
        assert plain.status_code == 200 and plain.json() == done
        # A bad knowledge base is a 4xx before any stream starts.
        missing = client.post(
            "/api/v1/rag/evaluations/questions/generate",
            json={**request, "collection": "no-such-base"},
        )
        assert missing.status_code == 404 and "error" in missing.json()
