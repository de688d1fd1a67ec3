"""The vector-store interface RAG talks to, and its ChromaDB implementation.

Chroma is used embedded (``PersistentClient`` under the data dir) or through a server
(``HttpClient``) when ``MP_RAG_CHROMA_URL`` is set. We always pass embeddings ourselves and open
collections with ``embedding_function=None``: Chroma's default function downloads an ONNX model,
which fails offline, and it is re-attached on every fetch unless told otherwise.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
import numpy as np

from app.core.errors import BackendUnavailable

Metadata = dict[str, str | int | float | bool]

F = TypeVar("F", bound=Callable[..., Any])


def _unreachable_is_503(method: F) -> F:
    """A Chroma server that went away answers 503 with a clear message, not a generic 500."""

    @functools.wraps(method)
    def wrapper(self: ChromaVectorStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (httpx.TransportError, ConnectionError) as exc:
            raise BackendUnavailable(
                f"The Chroma server at {self.location} is unreachable ({type(exc).__name__})."
            ) from exc

    return wrapper  # type: ignore[return-value]  # same signature as method (functools.wraps)


@dataclass
class VectorHit:
    """One stored chunk returned by a query; ``score`` is cosine similarity (1 = same)."""

    id: str
    score: float
    text: str
    metadata: Metadata
    embedding: np.ndarray | None = None


class VectorStore(ABC):
    """Collections of unit vectors with text and flat metadata."""

    @abstractmethod
    def create_collection(self, name: str) -> None:
        """Create an empty collection (cosine space); no error if it exists."""

    @abstractmethod
    def drop_collection(self, name: str) -> None:
        """Remove a collection and its vectors; no error if it is absent."""

    @abstractmethod
    def add(
        self,
        name: str,
        ids: list[str],
        embeddings: np.ndarray,
        texts: list[str],
        metadatas: list[Metadata],
    ) -> None:
        """Insert or overwrite vectors (idempotent by id)."""

    @abstractmethod
    def query(
        self,
        name: str,
        embedding: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> list[VectorHit]:
        """The ``k`` nearest vectors, best first."""

    @abstractmethod
    def get(
        self,
        name: str,
        ids: list[str] | None = None,
        where: dict[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> list[VectorHit]:
        """Stored chunks by id or by metadata (``score`` is 0); absent ids are skipped."""

    @abstractmethod
    def delete_where(self, name: str, where: dict[str, Any]) -> None:
        """Delete every vector whose metadata matches ``where``."""

    @abstractmethod
    def count(self, name: str, where: dict[str, Any] | None = None) -> int:
        """Number of vectors (matching ``where`` when given)."""

    def heartbeat(self) -> bool:
        return True


class ChromaVectorStore(VectorStore):
    """ChromaDB, embedded or remote. Calls are blocking; callers run them in a thread."""

    def __init__(self, path: Path | None = None, url: str | None = None) -> None:
        assert path is not None or url
        self._path = path
        self._url = url
        self._client_obj: Any = None
        self._batch = 0
        self._collections: dict[str, Any] = {}
        self._lock = threading.RLock()
        self.location = url or str(path)

    @property
    def _client(self) -> Any:
        # Connected on first use, so the app starts (and serves everything else) while a
        # configured Chroma server is down; RAG calls then answer 503 until it is back.
        with self._lock:
            if self._client_obj is None:
                self._client_obj = self._connect()
                self._batch = int(self._client_obj.get_max_batch_size())
            return self._client_obj

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if not self._url:
            assert self._path is not None
            self._path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self._path), settings=chroma_settings)
        parsed = urlparse(self._url)
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise BackendUnavailable(
                f"The Chroma server at {self._url} is unreachable ({type(exc).__name__}). "
                "Start it or unset MP_RAG_CHROMA_URL to use the embedded store."
            ) from exc

    def _collection(self, name: str):
        with self._lock:
            if name not in self._collections:
                self._collections[name] = self._client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                )
            return self._collections[name]

    @_unreachable_is_503
    def create_collection(self, name: str) -> None:
        self._collection(name)

    @_unreachable_is_503
    def drop_collection(self, name: str) -> None:
        with self._lock:
            self._collections.pop(name, None)
        try:
            self._client.delete_collection(name)
        except Exception as exc:  # absent already: deleting is idempotent for us
            if "not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                raise

    @_unreachable_is_503
    def add(
        self,
        name: str,
        ids: list[str],
        embeddings: np.ndarray,
        texts: list[str],
        metadatas: list[Metadata],
    ) -> None:
        collection = self._collection(name)
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            collection.upsert(
                ids=ids[start:end],
                embeddings=embeddings[start:end],
                documents=texts[start:end],
                metadatas=metadatas[start:end],
            )

    @_unreachable_is_503
    def query(
        self,
        name: str,
        embedding: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> list[VectorHit]:
        collection = self._collection(name)
        include = ["documents", "metadatas", "distances"]
        if with_embeddings:
            include.append("embeddings")
        result = collection.query(
            query_embeddings=[np.asarray(embedding, dtype=np.float32)],
            n_results=k,
            where=where or None,
            include=include,
        )
        ids = result["ids"][0]
        embs = result["embeddings"][0] if with_embeddings else [None] * len(ids)
        return [
            VectorHit(
                id=i,
                score=1.0 - float(dist),
                text=doc or "",
                metadata=dict(meta or {}),
                embedding=None if emb is None else np.asarray(emb, dtype=np.float32),
            )
            for i, dist, doc, meta, emb in zip(
                ids,
                result["distances"][0],
                result["documents"][0],
                result["metadatas"][0],
                embs,
                strict=True,
            )
        ]

    @_unreachable_is_503
    def get(
        self,
        name: str,
        ids: list[str] | None = None,
        where: dict[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> list[VectorHit]:
        collection = self._collection(name)
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        hits: list[VectorHit] = []
        # Chroma caps one get at its batch size, so ask in slices.
        if ids is not None:
            slices: list[dict[str, Any]] = [
                {"ids": ids[i : i + self._batch]} for i in range(0, len(ids), self._batch)
            ]
        else:
            slices = [{"where": where}] if where else [{}]
        for part in slices:
            result = collection.get(include=include, **part)
            embs = result["embeddings"] if with_embeddings else [None] * len(result["ids"])
            for i, doc, meta, emb in zip(
                result["ids"], result["documents"], result["metadatas"], embs, strict=True
            ):
                hits.append(
                    VectorHit(
                        i,
                        0.0,
                        doc or "",
                        dict(meta or {}),
                        None if emb is None else np.asarray(emb, np.float32),
                    )
                )
        return hits

    @_unreachable_is_503
    def delete_where(self, name: str, where: dict[str, Any]) -> None:
        self._collection(name).delete(where=where)

    @_unreachable_is_503
    def count(self, name: str, where: dict[str, Any] | None = None) -> int:
        collection = self._collection(name)
        if not where:
            return int(collection.count())
        return len(collection.get(where=where, include=[])["ids"])

    def heartbeat(self) -> bool:
        try:
            self._client.heartbeat()
            return True
        except Exception:
            return False
