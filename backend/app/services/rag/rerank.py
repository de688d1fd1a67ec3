"""Reranking behind one interface: none, a local cross-encoder, or a remote ``/v1/rerank``.

A cross-encoder reads query and passage together and scores their relevance far better than
two independent embeddings do, at the cost of one model pass per candidate; it reorders the
fused candidates before the top-k cut. Which one runs is chosen by settings:
``MP_RAG_RERANKER_MODEL`` (a sentence-transformers cross-encoder folder) or
``MP_RAG_RERANKER_URL`` (a server speaking the Cohere/Jina/vLLM rerank shape); neither means none.
:class:`EmbeddingCosineReranker` is what our own ``/v1/rerank`` falls back to when no reranker
is configured: the embedder's cosine similarity, and the response says so.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from pathlib import Path

import httpx
import numpy as np

from app.backends.transformers.torch_build import torch_build_lock
from app.core.config import RagSettings
from app.core.errors import BackendUnavailable, InvalidRequest, UpstreamUnavailable
from app.services.rag.embedder import Embedder


class Reranker(ABC):
    """Scores passages for a query; higher is more relevant."""

    kind: str = "none"
    name: str = "none"

    @abstractmethod
    def score(self, query: str, documents: list[str]) -> list[float]:
        """One relevance score per document, in input order (blocking)."""


class CrossEncoderReranker(Reranker):
    """A sentence-transformers ``CrossEncoder`` loaded from a local folder on first use."""

    kind = "cross-encoder"

    def __init__(self, folder: str, batch_size: int = 32) -> None:
        self.name = Path(folder).name
        self.folder = folder
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    # not thread-safe (backends/transformers/torch_build.py)
                    with torch_build_lock:
                        from sentence_transformers import CrossEncoder

                        self._model = CrossEncoder(self.folder, local_files_only=True)
                except Exception as exc:
                    raise BackendUnavailable(
                        f"The reranker model at {self.folder} could not be loaded: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
            return self._model

    def score(self, query: str, documents: list[str]) -> list[float]:
        if not documents:
            return []
        model = self._load()
        with self._lock:
            scores = model.predict(
                [(query, d) for d in documents], batch_size=self.batch_size, show_progress_bar=False
            )
        return [float(s) for s in np.asarray(scores).reshape(-1)]


class RemoteReranker(Reranker):
    """A remote ``POST {url}/v1/rerank`` (Cohere/Jina/vLLM request and response shape)."""

    kind = "remote"

    def __init__(self, url: str, model: str, api_key: str | None, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.name = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout_s

    def score(self, query: str, documents: list[str]) -> list[float]:
        if not documents:
            return []
        endpoint = self.url if self.url.endswith("/rerank") else f"{self.url}/v1/rerank"
        body = {"model": self.name, "query": query, "documents": documents, "top_n": len(documents)}
        try:
            response = httpx.post(endpoint, json=body, headers=self._headers, timeout=self._timeout)
            response.raise_for_status()
            results = response.json()["results"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise UpstreamUnavailable(
                f"The reranker at {endpoint} failed: {type(exc).__name__}: {exc}"
            ) from exc
        scores = [float("-inf")] * len(documents)
        for item in results:
            scores[int(item["index"])] = float(item["relevance_score"])
        return scores


class EmbeddingCosineReranker(Reranker):
    """Cosine similarity of the embedder's unit vectors (no cross-encoder configured)."""

    kind = "embedding-cosine"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = embedder.name

    def score(self, query: str, documents: list[str]) -> list[float]:
        if not documents:
            return []
        vectors = self.embedder.embed([query, *documents])
        return [float(s) for s in vectors[1:] @ vectors[0]]


def build_reranker(settings: RagSettings) -> Reranker | None:
    """The configured reranker, or None (no reranking)."""
    if settings.rag_reranker_model and settings.rag_reranker_url:
        raise InvalidRequest("Set MP_RAG_RERANKER_MODEL or MP_RAG_RERANKER_URL, not both.")
    if settings.rag_reranker_model:
        return CrossEncoderReranker(settings.rag_reranker_model)
    if settings.rag_reranker_url:
        return RemoteReranker(
            settings.rag_reranker_url,
            settings.rag_reranker_remote_model,
            settings.rag_reranker_api_key,
            settings.rag_reranker_timeout_s,
        )
    return None
