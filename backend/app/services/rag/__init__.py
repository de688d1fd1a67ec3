"""Retrieval-augmented generation: knowledge bases, ingestion, retrieval and cited answers.

One module per concern: ``loaders`` (PDF/TXT/MD to sections), ``chunking``, ``embedder``,
``vector_store`` (interface + Chroma), ``store`` (SQLite rows), ``collections``, ``ingestion``
(background jobs) and ``pipeline`` (query and answer). :class:`RagService` wires them for
``app.state``.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.core.config import Settings
from app.core.db import Database
from app.services.generation import GenerationService
from app.services.rag.collections import CollectionService
from app.services.rag.embedder import EmbedderPool
from app.services.rag.ingestion import IngestionService
from app.services.rag.pipeline import RagPipeline
from app.services.rag.store import RagRepository
from app.services.rag.vector_store import ChromaVectorStore, VectorStore


class RagService:
    """Everything RAG needs, built once in the app's lifespan."""

    def __init__(self, settings: Settings, db: Database, generation: GenerationService,
                 vectors: VectorStore | None = None) -> None:
        # Chroma reads this at import; no usage data leaves the machine.
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        self.settings = settings
        self.files_dir: Path = settings.data_dir / "rag" / "files"
        self.repo = RagRepository(db)
        self.embedders = EmbedderPool(settings)
        self.vectors = vectors or ChromaVectorStore(
            path=settings.data_dir / "chroma", url=settings.rag_chroma_url
        )
        self.collections = CollectionService(settings, self.repo, self.embedders, self.vectors)
        self.ingestion = IngestionService(self.repo, self.collections, self.files_dir,
                                          settings.rag_max_pdf_pages)
        self.pipeline = RagPipeline(settings, self.repo, self.collections, generation)

    async def start(self) -> None:
        await self.ingestion.start()

    async def shutdown(self) -> None:
        await self.ingestion.shutdown()
