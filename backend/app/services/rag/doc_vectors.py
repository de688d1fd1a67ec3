"""Exact dense search over a few documents, for filtered queries.

Chroma applies a metadata filter before its HNSW search, which at 100k chunks made a
``document_id $in [2 of 50]`` query take ~215 ms. When a filter leaves few chunks it is faster
to score them exactly: the vectors of each filtered document are read from the vector store
once, kept here (least recently used first out, bounded by a chunk count), and a query is one
matrix-vector product. The chunks' texts and metadata are kept with the vectors, so a filtered
query's results (dense or lexical) need no second read from the vector store. Entries are
dropped when their document's vectors are deleted.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from app.services.rag.vector_store import VectorHit, VectorStore

_Entry = tuple[list[str], np.ndarray, dict[str, VectorHit]]


class DocumentVectorCache:
    """Per-document (ids, unit vectors, hits) read through the :class:`VectorStore` interface."""

    def __init__(self, vectors: VectorStore, max_chunks: int) -> None:
        self.vectors = vectors
        self.max_chunks = max_chunks
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def _load(self, vector_name: str, document_id: str) -> _Entry:
        key = (vector_name, document_id)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        found = self.vectors.get(
            vector_name, where={"document_id": document_id}, with_embeddings=True
        )
        pairs = [(h, h.embedding) for h in found if h.embedding is not None]
        ids = [h.id for h, _ in pairs]
        matrix = (
            np.stack([vector for _, vector in pairs]) if pairs else np.zeros((0, 1), np.float32)
        )
        # Each hit's embedding is a view of its matrix row: the vectors are held once.
        hits = {h.id: dataclasses.replace(h, embedding=matrix[i]) for i, (h, _) in enumerate(pairs)}
        entry = (ids, matrix, hits)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = entry
                self._size += len(ids)
                while self._size > self.max_chunks and len(self._entries) > 1:
                    _, (old, _, _) = self._entries.popitem(last=False)
                    self._size -= len(old)
        return entry

    def search(
        self,
        vector_name: str,
        document_ids: list[str],
        query: np.ndarray,
        k: int,
        hits: dict[str, VectorHit] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` chunks of these documents nearest to ``query``: ``(id, cosine)``; their
        stored chunks go into ``hits`` when given."""
        ids: list[str] = []
        parts: list[np.ndarray] = []
        stored: list[dict[str, VectorHit]] = []
        for document_id in document_ids:
            doc_ids, matrix, doc_hits = self._load(vector_name, document_id)
            if doc_ids:
                ids.extend(doc_ids)
                parts.append(matrix)
                stored.append(doc_hits)
        if not ids:
            return []
        scores = np.concatenate([m @ query for m in parts])
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        top = top[np.argsort(-scores[top], kind="stable")]
        out = [(ids[i], float(scores[i])) for i in top]
        if hits is not None:
            hits.update(self._find(stored, (i for i, _ in out)))
        return out

    def cached_hits(
        self, vector_name: str, document_ids: Iterable[str], ids: Iterable[str]
    ) -> dict[str, VectorHit]:
        """The stored chunks among ``ids`` that belong to cached documents (no reads)."""
        with self._lock:
            stored = [
                entry[2]
                for d in document_ids
                if (entry := self._entries.get((vector_name, d))) is not None
            ]
        return self._find(stored, ids)

    @staticmethod
    def _find(stored: list[dict[str, VectorHit]], ids: Iterable[str]) -> dict[str, VectorHit]:
        out: dict[str, VectorHit] = {}
        for i in ids:
            for doc_hits in stored:
                hit = doc_hits.get(i)
                if hit is not None:
                    out[i] = hit
                    break
        return out

    def forget(self, vector_name: str, document_id: str | None = None) -> None:
        """Drop one document's entry, or every entry of a collection."""
        with self._lock:
            for key in [
                k
                for k in self._entries
                if k[0] == vector_name and (document_id is None or k[1] == document_id)
            ]:
                self._size -= len(self._entries.pop(key)[0])
