"""Retrieval (filters, optional MMR) and answers with numbered sources through the one
generation path (``GenerationService.prepare`` then ``stream``/``run``)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.backends.base import ChatMessage
from app.core.config import Settings
from app.schemas.rag import Citation, QueryFilters, RetrievedChunk
from app.services import metrics
from app.services.generation import GenerationService, ParamsInput, PreparedGeneration
from app.services.rag.collections import CollectionService, tag_key
from app.services.rag.store import RagRepository
from app.services.rag.vector_store import VectorHit

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources below. Cite every claim with the "
    "source number in square brackets, like [1]. If the sources do not contain the answer, say so."
)


@dataclass
class PreparedAnswer:
    """A generation ready to run, with the sources its prompt holds."""

    job: PreparedGeneration
    citations: list[Citation]
    dropped: int


def build_where(filters: QueryFilters | None) -> dict[str, Any] | None:
    """Chroma ``where`` for document and tag filters (tags match if any one is present)."""
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.document_ids:
        clauses.append({"document_id": {"$in": list(filters.document_ids)}})
    if filters.tags:
        tags = [{tag_key(t): True} for t in dict.fromkeys(filters.tags)]
        clauses.append(tags[0] if len(tags) == 1 else {"$or": tags})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def mmr(query: np.ndarray, hits: list[VectorHit], k: int, lam: float) -> list[VectorHit]:
    """Maximal marginal relevance over unit vectors: relevance minus redundancy."""
    if len(hits) <= 1:
        return hits[:k]
    embeddings = [h.embedding for h in hits]
    if any(e is None for e in embeddings):
        raise ValueError("mmr needs hits queried with_embeddings=True")
    vectors = np.stack(embeddings)  # type: ignore[arg-type]  # Nones were refused just above
    relevance = vectors @ query
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    left = list(range(len(hits)))
    while left and len(chosen) < k:
        redundancy = (similarity[np.ix_(left, chosen)].max(axis=1) if chosen
                      else np.zeros(len(left)))
        scores = lam * relevance[left] - (1 - lam) * redundancy
        best = left[int(np.argmax(scores))]
        chosen.append(best)
        left.remove(best)
    return [hits[i] for i in chosen]


def _chunk(hit: VectorHit) -> RetrievedChunk:
    meta = hit.metadata
    heading = str(meta.get("heading_path") or "")
    return RetrievedChunk(
        chunk_id=hit.id,
        document_id=str(meta["document_id"]),
        filename=str(meta.get("filename", "")),
        page=int(meta.get("page") or 0) or None,
        position=int(meta.get("position", 0)),
        heading_path=heading.split(" > ") if heading else [],
        text=hit.text,
        score=round(hit.score, 6),
    )


class RagPipeline:
    """Query a knowledge base; prepare cited answers."""

    def __init__(self, settings: Settings, repo: RagRepository, collections: CollectionService,
                 generation: GenerationService) -> None:
        self.settings = settings
        self.repo = repo
        self.collections = collections
        self.generation = generation

    async def retrieve(self, collection_key: str, query: str, top_k: int | None,
                       filters: QueryFilters | None, use_mmr: bool = False,
                       mmr_lambda: float = 0.5) -> list[RetrievedChunk]:
        collection = self.collections.get(collection_key)
        k = top_k or self.settings.rag_top_k
        embedder = self.collections.embedder_for(collection)
        ready = self.repo.ready_ids(collection["id"])
        if not ready:
            return []
        where = build_where(filters)
        # Fetch extra candidates: MMR needs a pool to diversify, and chunks of documents still
        # being ingested are dropped below.
        fetch = k * 4 if use_mmr else k + 8

        def search() -> tuple[np.ndarray, list[VectorHit]]:
            vector = embedder.embed([query])[0]
            hits = self.collections.vectors.query(collection["vector_name"], vector, fetch,
                                                  where, with_embeddings=use_mmr)
            return vector, hits

        started = time.perf_counter()
        vector, hits = await asyncio.to_thread(search)
        metrics.RAG_QUERY_SECONDS.labels("query").observe(time.perf_counter() - started)
        hits = [h for h in hits if h.metadata.get("document_id") in ready]
        hits = mmr(vector, hits, k, mmr_lambda) if use_mmr else hits[:k]
        return [_chunk(h) for h in hits]

    async def prepare_answer(self, collection_key: str, question: str, chunks:
                             list[RetrievedChunk], model_id: str | None, backend: str | None,
                             params: ParamsInput) -> PreparedAnswer:
        """Fit as many sources as the model's context allows (dropping the lowest-scored ones
        first, never truncating one), then prepare the generation."""
        del collection_key  # retrieval already resolved it; kept for symmetry with retrieve
        model_id = model_id or await self.generation.manager.default_model_id_async()
        engine = None
        if model_id:
            loaded, _ = await self.generation.manager.get(model_id, backend, reserve=False)
            engine = loaded.backend
        ordered = sorted(chunks, key=lambda c: c.score, reverse=True)
        citations = [Citation(n=i + 1, **c.model_dump()) for i, c in enumerate(ordered)]
        reserve = params.max_tokens or self.settings.default_max_new_tokens
        use_chat = engine is None or engine.capabilities.chat_template

        def build(n: int) -> tuple[list[ChatMessage] | None, str | None]:
            user = _user_prompt(question, citations[:n])
            if use_chat:
                return [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", user)], None
            return None, f"{SYSTEM_PROMPT}\n\n{user}\nAnswer:"

        def fit() -> int:
            assert engine is not None
            for n in range(len(citations), -1, -1):
                messages, prompt = build(n)
                if messages is not None:
                    text = engine.render_chat(messages)
                    tokens = len(engine.tokenize(text, add_special_tokens=False))
                else:
                    tokens = len(engine.tokenize(prompt or "", add_special_tokens=True))
                if tokens + reserve <= engine.context_length:
                    return n
            return 0

        kept = await asyncio.to_thread(fit) if engine is not None else len(citations)
        messages, prompt = build(kept)
        job = await self.generation.prepare(model_id, params, prompt=prompt, messages=messages,
                                            backend=backend)
        return PreparedAnswer(job, citations[:kept], len(citations) - kept)


def _user_prompt(question: str, citations: list[Citation]) -> str:
    if not citations:
        return f"Sources: none were found.\n\nQuestion: {question}"
    lines = ["Sources:"]
    for c in citations:
        where = f"{c.filename}, page {c.page}" if c.page else c.filename
        lines.append(f"[{c.n}] ({where}) {c.text}")
    lines.append("")
    lines.append(f"Question: {question}")
    return "\n".join(lines)
