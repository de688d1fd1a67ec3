"""The cross-encoder reranking path, run for real: a sentence-transformers ``CrossEncoder``
folder configured with ``MP_RAG_RERANKER_MODEL`` orders RAG candidates and serves
``/v1/rerank``.

No pre-trained reranker ships in a package registry, so the folder is MiniLM with a fresh
one-logit classification head (sentence-transformers' own conversion). Its scores mean
nothing about relevance, which is what makes them a good probe: the test checks that the
served order and scores are exactly the cross-encoder's, which no other scorer would give.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.services.rag.embedder import DEFAULT_EMBEDDING_MODEL, _resolve
from tests.helpers.server import ServerProcess, tiny_server
from tests.rag.client import create_collection, ingest

DOCUMENTS = [
    "The pump needs a pressure of 3.5 bar to start.",
    "Service the pump every 400 hours of operation.",
    "The warranty covers two years from the date of purchase.",
    "Bananas are rich in potassium.",
    "Reset the controller by holding the red button for ten seconds.",
]
QUERY = "How often should the pump be serviced?"


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentence_transformers import CrossEncoder

    folder = tmp_path_factory.mktemp("cross-encoder")
    model = CrossEncoder(_resolve(DEFAULT_EMBEDDING_MODEL), num_labels=1, local_files_only=True)
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def reranking_app(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, cross_encoder_dir: Path
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("rag-cross-encoder")
    server = tiny_server(models_dir, data, MP_RAG_RERANKER_MODEL=str(cross_encoder_dir)).start()
    yield server
    server.stop()


def _direct_scores(folder: Path, query: str, documents: list[str]) -> list[float]:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(folder), local_files_only=True)
    return [float(s) for s in model.predict([(query, d) for d in documents])]


def test_rerank_endpoint_serves_the_cross_encoder(
    reranking_app: ServerProcess, cross_encoder_dir: Path
) -> None:
    body = {"model": "any", "query": QUERY, "documents": DOCUMENTS, "top_n": 5}
    response = httpx.post(f"{reranking_app.url}/v1/rerank", json=body, timeout=120)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["scored_by"] == "cross-encoder"
    expected = _direct_scores(cross_encoder_dir, QUERY, DOCUMENTS)
    order = sorted(range(len(DOCUMENTS)), key=lambda i: -expected[i])
    assert [r["index"] for r in data["results"]] == order
    for result in data["results"]:
        assert result["relevance_score"] == pytest.approx(expected[result["index"]], abs=1e-4)


def test_rag_query_is_ordered_by_the_cross_encoder(
    reranking_app: ServerProcess, cross_encoder_dir: Path
) -> None:
    name = f"ce-{uuid.uuid4().hex[:8]}"
    files = [(f"doc{i}.txt", text.encode(), "text/plain") for i, text in enumerate(DOCUMENTS)]
    with httpx.Client(base_url=reranking_app.url, timeout=120) as client:
        create_collection(client, name)
        ingest(client, name, files)
        query = {"collection": name, "query": QUERY, "top_k": 5, "mode": "dense"}
        reranked = client.post("/api/v1/rag/query", json=query)
        plain = client.post("/api/v1/rag/query", json={**query, "rerank": False})
    assert reranked.status_code == 200 and plain.status_code == 200, reranked.text
    ranked = reranked.json()
    assert ranked["reranker"].startswith("cross-encoder:")
    assert plain.json()["reranker"] is None
    texts = [c["text"] for c in ranked["chunks"]]
    scores = [c["score"] for c in ranked["chunks"]]
    assert sorted(texts) == sorted(DOCUMENTS)  # every candidate came back
    expected = _direct_scores(cross_encoder_dir, QUERY, texts)
    assert scores == pytest.approx(expected, abs=1e-4)
    assert scores == sorted(scores, reverse=True)
