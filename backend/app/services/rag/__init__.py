"""Retrieval-augmented generation: knowledge bases, ingestion, retrieval and cited answers.

One module per concern: ``loaders`` (PDF/TXT/MD to sections), ``chunking``, ``embedder``,
``vector_store`` (interface + Chroma), ``store`` (SQLite rows), ``collections``, ``ingestion``
(background jobs) and ``pipeline`` (query and answer). :class:`RagService` wires them for
``app.state``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.core.config import Settings
from app.core.db import Database
from app.services.generation import GenerationService
from app.services.jobs import JobRunner, RunsJobs
from app.services.rag.collections import CollectionService
from app.services.rag.embedder import EmbedderPool
from app.services.rag.evaluations import EvaluationService
from app.services.rag.ingestion import IngestionService
from app.services.rag.lexical import LexicalIndexes
from app.services.rag.pipeline import RagPipeline
from app.services.rag.rerank import build_reranker
from app.services.rag.store import RagRepository
from app.services.rag.vector_store import ChromaVectorStore, VectorStore


class RagService(RunsJobs):
    """Everything RAG needs, built once in the app's lifespan."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        generation: GenerationService,
        vectors: VectorStore | None = None,
        runner: JobRunner | None = None,
    ) -> None:
        # Chroma reads this at import; no usage data leaves the machine.
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        self.settings = settings
        # Without the app's runner (tests, scripts) the service runs its own.
        self.use_runner(runner)
        self._reconcile: asyncio.Task[None] | None = None
        self.files_dir: Path = settings.files_root / "rag" / "files"
        self.repo = RagRepository(db)
        self.embedders = EmbedderPool(settings)
        self.vectors = vectors or ChromaVectorStore(
            path=settings.data_dir / "chroma", url=settings.rag_chroma_url
        )
        self.lexical = LexicalIndexes(settings.data_dir / "rag" / "lexical")
        self.collections = CollectionService(
            settings, self.repo, self.embedders, self.vectors, self.lexical
        )
        self.ingestion = IngestionService(
            self.repo,
            self.collections,
            self.files_dir,
            settings.rag_max_pdf_pages,
            job_runner=self.runner,
        )
        self.reranker = build_reranker(settings)
        self.pipeline = RagPipeline(
            settings, self.repo, self.collections, generation, self.reranker
        )
        self.evaluations = EvaluationService(
            db,
            self.repo,
            self.collections,
            generation,
            self.files_dir,
            settings.data_dir / "rag" / "eval-tmp",
            settings.rag_max_pdf_pages,
            self.reranker,
            self.runner,
        )

    async def start(self, alone: bool = True) -> None:
        """Open for use. ``alone=False`` (``playground mcp``, beside a server that may use the
        same folders): no start-up recovery, which would take that server's uploads and
        evaluations in progress for a crash's leftovers, and lexical indexes reconciled with
        the documents on every use, as with a job queue."""
        if alone:
            await self.ingestion.start()
            self.evaluations.start()
        else:
            self.collections.shared = True
            await self.ingestion.start(recover=False)
        await self.start_own_runner(resume=alone)
        # Lexical indexes of existing knowledge bases are loaded (or built, for those made
        # before BM25 existed) in the background; a query that comes first waits for its own.
        self._reconcile = asyncio.create_task(asyncio.to_thread(self.collections.reconcile_all))

    async def shutdown(self) -> None:
        await self.stop_own_runner()
