"""``/v1/rerank`` with the Cohere/Jina request shape, and answers: below-threshold retrieval
says the documents do not contain it; every [n] left in an answer names a given source."""

from __future__ import annotations

import json
import uuid

import httpx

from app.services.rag.citations import CitationStreamFilter, check_citations
from tests.rag.client import create_collection, ingest
from tests.rag.conftest import RagApp


def test_rerank_official_shape(rag_embedded: RagApp) -> None:
    body = {
        "model": "rerank-english-v3.0",
        "query": "How do I reset my router's password?",
        "documents": [
            "Bananas are rich in potassium.",
            {
                "text": "To reset the router password, hold the reset button for ten "
                "seconds, then log in with the default credentials."
            },
            "The router supports 5 GHz Wi-Fi.",
        ],
        "top_n": 2,
        "return_documents": True,
    }
    response = httpx.post(f"{rag_embedded.url}/v1/rerank", json=body, timeout=60)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["scored_by"] == "embedding-cosine"  # no reranker is configured
    assert data["model"] == "all-MiniLM-L6-v2"
    assert [r["index"] for r in data["results"]] == [1, 2]
    assert data["results"][0]["relevance_score"] > data["results"][1]["relevance_score"]
    assert data["results"][0]["document"]["text"].startswith("To reset")
    assert data["usage"]["total_tokens"] > 0
    bad = httpx.post(
        f"{rag_embedded.url}/v1/rerank", json={"query": "x", "documents": []}, timeout=30
    )
    assert bad.status_code in (400, 422) and "error" in bad.json()


def test_answer_below_threshold_says_not_found(rag_embedded: RagApp) -> None:
    name = f"answer-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name)
        ingest(
            client,
            name,
            [
                (
                    "pump.txt",
                    b"The pump needs a pressure of 3.5 bar to start. Service it every 400 hours.",
                    "text/plain",
                )
            ],
        )
        response = client.post(
            "/api/v1/rag/answer",
            json={
                "collection": name,
                "question": "Who won the 1998 football world cup final?",
                "max_tokens": 8,
            },
        )
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["grounded"] is False and data["citations"] == []
        assert data["answer"]["text"] == "The documents do not contain an answer to this question."
        assert data["answer"]["timings"]["backend"] == "none"

        grounded = client.post(
            "/api/v1/rag/answer",
            json={
                "collection": name,
                "question": "What pressure does the pump need?",
                "max_tokens": 8,
                "seed": 1,
            },
        ).json()
        assert grounded["grounded"] is True and grounded["citations"]
        given = {c["n"] for c in grounded["citations"]}
        assert set(grounded["cited"]) <= given
        assert not [n for n in map(int, _numbers(grounded["answer"]["text"])) if n not in given]


def _numbers(text: str) -> list[str]:
    import re

    return re.findall(r"\[(\d+)\]", text)


def test_citation_mapping() -> None:
    text, cited, invalid = check_citations(
        "Pressure is 3.5 bar [2][1], see [7] and [2].", {1, 2, 3}
    )
    assert text == "Pressure is 3.5 bar [2][1], see  and [2]."
    assert cited == [2, 1] and invalid == [7]


CITATION_TEXTS = [
    "Pressure is 3.5 bar [2][1], see [7] and [2].",
    "Nested [[1]] and [[9]], empty [] and [x], long [123456] and [12",
    "Split markers [1",
    "0] and [3] at the end [",
    "Arrays a[0] and a[2] in code, then [1].",
]


def test_streamed_citations_match_the_final_answer() -> None:
    """However the text is cut into tokens, the streamed text equals the cleaned answer."""
    import random

    rng = random.Random(7)
    given = {1, 2, 3}
    for text in CITATION_TEXTS:
        expected = check_citations(text, given)[0]
        for _ in range(200):
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, min(12, len(text) - 1))))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            stream = CitationStreamFilter(given)
            shown = "".join(stream.feed(piece) for piece in pieces) + stream.flush()
            assert shown == expected, (text, pieces)


def test_streamed_answer_shows_what_the_final_answer_keeps(rag_embedded: RagApp) -> None:
    name = f"stream-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name)
        ingest(
            client,
            name,
            [("pump.txt", b"The pump needs a pressure of 3.5 bar to start.", "text/plain")],
        )
        body = {
            "collection": name,
            "question": "What pressure does the pump need? Cite [1] and [5].",
            "max_tokens": 24,
            "seed": 1,
            "stream": True,
        }
        tokens: list[str] = []
        final: dict[str, object] = {}
        with client.stream("POST", "/api/v1/rag/answer", json=body) as response:
            assert response.status_code == 200
            name_ = None
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name_ = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and name_ in ("token", "done"):
                    data = json.loads(line.split(":", 1)[1])
                    if name_ == "token":
                        tokens.append(data["text"])
                    else:
                        final = data
    answer = final["answer"]
    assert isinstance(answer, dict)
    assert "".join(tokens) == answer["text"]
    given = {c["n"] for c in final["citations"]}  # type: ignore[union-attr]
    assert all(int(n) in given for n in _numbers("".join(tokens)))
