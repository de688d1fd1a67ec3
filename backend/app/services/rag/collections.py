"""Knowledge bases: each records its embedding model, dimension and chunking defaults, so its
vectors are always written and queried in one vector space."""

from __future__ import annotations

import asyncio
import builtins
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.config import Settings
from app.core.errors import Conflict, InvalidRequest, NotFound
from app.services.rag.chunking import Chunk, indexed_text
from app.services.rag.doc_vectors import DocumentVectorCache
from app.services.rag.embedder import Embedder, EmbedderPool
from app.services.rag.lexical import LexicalIndex, LexicalIndexes
from app.services.rag.store import RagRepository
from app.services.rag.vector_store import Metadata, VectorStore

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,126}[A-Za-z0-9]$")


def tag_key(tag: str) -> str:
    """Metadata key marking a tag (Chroma metadata is flat, so each tag is a boolean field)."""
    return f"tag:{tag}"


@dataclass(eq=False)
class CollectionService:
    """Creates, lists and deletes knowledge bases and writes their vectors."""

    settings: Settings
    repo: RagRepository
    embedders: EmbedderPool
    vectors: VectorStore
    lexical_indexes: LexicalIndexes
    _backfill_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _reconciled: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        # Other processes add and delete documents in these folders too (replicas and workers
        # with a job queue, or `playground mcp` beside a server): reconcile on every use.
        self.shared = self.settings.redis_url is not None
        self.doc_vectors = DocumentVectorCache(self.vectors, self.settings.rag_filter_cache_chunks)

    def get(self, key: str, param: str = "collection") -> dict[str, Any]:
        collection = self.repo.collection(key)
        if collection is None:
            raise NotFound(
                f"Knowledge base '{key}' does not exist.", param=param, code="collection_not_found"
            )
        return collection

    def list(self) -> list[dict[str, Any]]:
        return self.repo.collections()

    def embedder_for(self, collection: dict[str, Any]) -> Embedder:
        return self.embedders.get(collection["embedding_model"], param="embedding_model")

    @staticmethod
    def check_chunking(size: int, overlap: int, max_tokens: int | None) -> None:
        if overlap >= size:
            raise InvalidRequest(
                f"chunk_overlap ({overlap}) must be smaller than chunk_size ({size}).",
                param="chunk_overlap",
            )
        if max_tokens is not None and size > max_tokens:
            raise InvalidRequest(
                f"chunk_size {size} is over the embedding model's {max_tokens}-token input; "
                "longer chunks would be truncated when embedded.",
                param="chunk_size",
            )

    def set_mode(self, key: str, mode: str) -> dict[str, Any]:
        collection = self.get(key, param="collection_id")
        self.repo.set_retrieval_mode(collection["id"], mode)
        return self.get(collection["id"])

    async def create(
        self,
        name: str,
        description: str,
        embedding_model: str | None,
        chunk_size: int | None,
        chunk_overlap: int | None,
        retrieval_mode: str = "hybrid",
    ) -> dict[str, Any]:
        if not _NAME.match(name):
            raise InvalidRequest(
                "name must be 2-128 letters, digits, spaces, '.', '_' or '-', starting and "
                "ending with a letter or digit.",
                param="name",
            )
        if self.repo.collection(name) is not None:
            raise Conflict(f"A knowledge base named '{name}' already exists.", param="name")
        embedder = self.embedders.get(embedding_model, param="embedding_model")
        dimension, max_tokens = await asyncio.to_thread(
            lambda: (embedder.dimension, embedder.max_tokens)
        )
        size = chunk_size or self.settings.rag_chunk_size
        overlap = chunk_overlap
        if overlap is None:  # the default overlap, shrunk for a small explicit chunk size
            overlap = min(self.settings.rag_chunk_overlap, size // 5)
        self.check_chunking(size, overlap, max_tokens)
        collection_id = uuid.uuid4().hex
        row: dict[str, Any] = {
            "id": collection_id,
            "name": name,
            "description": description,
            "embedding_model": embedder.name,
            "dimension": dimension,
            "chunk_size": size,
            "chunk_overlap": overlap,
            "vector_name": f"kb_{collection_id}",
            "created_at": time.time(),
            "retrieval_mode": retrieval_mode,
        }
        await asyncio.to_thread(self.vectors.create_collection, row["vector_name"])
        try:
            self.repo.insert_collection(row)
        except Exception:
            await asyncio.to_thread(self.vectors.drop_collection, row["vector_name"])
            raise
        return self.get(collection_id)

    async def delete(self, key: str, files_dir) -> None:
        """Drop a knowledge base: its vectors, its documents' files and all its rows."""
        collection = self.get(key)
        if any(j["collection_id"] == collection["id"] for j in self.repo.active_jobs()):
            raise Conflict(
                "Documents are still being ingested into this knowledge base; "
                "delete them or wait for their jobs to end.",
                param="collection",
            )
        await asyncio.to_thread(self.vectors.drop_collection, collection["vector_name"])
        await asyncio.to_thread(self.lexical_indexes.drop, collection["id"])
        self._reconciled.discard(collection["id"])
        self.doc_vectors.forget(collection["vector_name"])
        for doc in self.repo.documents(collection["id"]):
            (files_dir / doc["stored_name"]).unlink(missing_ok=True)
        self.repo.delete_collection(collection["id"])

    # --- vectors (blocking; called from worker threads) ------------------------------------------
    def add_chunks(
        self,
        collection: dict[str, Any],
        doc: dict[str, Any],
        chunks: builtins.list[Chunk],
        vectors: np.ndarray,
    ) -> None:
        metadatas: list[Metadata] = []
        for chunk in chunks:
            meta: Metadata = {
                "document_id": doc["id"],
                "filename": doc["filename"],
                "position": chunk.position,
                "page": chunk.page or 0,  # 0 = not paged (Chroma metadata cannot be None)
                "heading_path": " > ".join(chunk.heading_path),
                "page_end": chunk.page_end or chunk.page or 0,
            }
            for tag in doc["tags"]:
                meta[tag_key(tag)] = True
            metadatas.append(meta)
        ids = [f"{doc['id']}:{c.position}" for c in chunks]
        self.vectors.add(
            collection["vector_name"], ids, vectors, [c.text for c in chunks], metadatas
        )

    def delete_vectors(self, collection: dict[str, Any], document_id: str) -> None:
        """Remove a document's chunks from both indexes (vectors first, then lexical)."""
        self.vectors.delete_where(collection["vector_name"], {"document_id": document_id})
        self.doc_vectors.forget(collection["vector_name"], document_id)
        self.lexical(collection).remove_document(document_id)

    def add_lexical(
        self, collection: dict[str, Any], doc: dict[str, Any], chunks: builtins.list[Chunk]
    ) -> None:
        """Index a fully embedded document's chunks in BM25 (one rebuild per document)."""
        ids = [f"{doc['id']}:{c.position}" for c in chunks]
        self.lexical(collection).add_documents([(doc["id"], ids, [c.indexed_text for c in chunks])])

    def lexical(self, collection: dict[str, Any]) -> LexicalIndex:
        """The knowledge base's BM25 index. On first use in a process it is reconciled with the
        documents: shards of documents that no longer exist are removed and ready documents
        without a shard (a knowledge base made before lexical indexes, or a lost folder) are
        indexed from the chunks stored in the vector store."""
        index = self.lexical_indexes.get(collection["id"])
        # Shared folders: reconcile on every use (one query of the document rows; a rebuild
        # only when something changed).
        if collection["id"] in self._reconciled and not self.shared:
            return index
        with self._backfill_lock:
            if collection["id"] in self._reconciled and not self.shared:
                return index
            known = {d["id"] for d in self.repo.documents(collection["id"])}
            for stale in index.documents() - known:
                index.remove_document(stale)
            missing = self.repo.ready_ids(collection["id"]) - index.documents()
            if missing:
                hits = self.vectors.get(
                    collection["vector_name"], where={"document_id": {"$in": sorted(missing)}}
                )
                by_doc: dict[str, list[tuple[int, str, str]]] = {}
                for hit in hits:
                    heading = str(hit.metadata.get("heading_path") or "")
                    path = heading.split(" > ") if heading else []
                    by_doc.setdefault(str(hit.metadata["document_id"]), []).append(
                        (int(hit.metadata.get("position", 0)), hit.id, indexed_text(hit.text, path))
                    )
                items = []
                for doc_id, rows in by_doc.items():
                    rows.sort()
                    items.append((doc_id, [r[1] for r in rows], [r[2] for r in rows]))
                index.add_documents(items)
            self._reconciled.add(collection["id"])
        return index

    def reconcile_all(self) -> None:
        """Open (and reconcile) every knowledge base's lexical index; run at start-up."""
        for collection in self.repo.collections():
            try:
                self.lexical(collection)
            except Exception:  # a Chroma server that is down: done on first use instead
                log.warning(
                    "lexical index of %s not reconciled at start-up",
                    collection["name"],
                    exc_info=True,
                )
