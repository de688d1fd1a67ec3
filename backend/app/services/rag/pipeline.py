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
from app.schemas.rag import (
    Citation,
    QueryFilters,
    RetrievalMode,
    RetrievalOptions,
    RetrievedChunk,
)
from app.services import metrics
from app.services.generation import GenerationService, ParamsInput, PreparedGeneration
from app.services.rag.collections import CollectionService, tag_key
from app.services.rag.lexical import identifiers
from app.services.rag.rerank import Reranker
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
        redundancy = similarity[np.ix_(left, chosen)].max(axis=1) if chosen else np.zeros(len(left))
        scores = lam * relevance[left] - (1 - lam) * redundancy
        best = left[int(np.argmax(scores))]
        chosen.append(best)
        left.remove(best)
    return [hits[i] for i in chosen]


def rrf(rankings: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking adds ``weight / (k + rank)`` (rank from 1)."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, chunk_id in enumerate(ids, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return fused


def promote_exact(order: list[str], texts: dict[str, str], query: str) -> list[str]:
    """Hybrid order with the chunks that contain the query's identifiers verbatim first (most
    identifiers matched first, fused order otherwise). Rank fusion alone lets a dense model's
    near miss (E-7441 for E-7144) outvote the one chunk holding the exact code."""
    wanted = identifiers(query)
    if not wanted:
        return order

    def matched(chunk_id: str) -> int:
        text = texts[chunk_id].lower()
        return sum(1 for w in wanted if w in text)

    counts = {i: matched(i) for i in order}
    return sorted(order, key=lambda i: -counts[i])


@dataclass(frozen=True)
class _Ranks:
    """Where one chunk stood: its place in the answer and in each candidate list."""

    rank: int
    dense_rank: int | None = None
    lexical_rank: int | None = None
    bm25: float | None = None


def _chunk(hit: VectorHit, score: float, similarity: float, ranks: _Ranks) -> RetrievedChunk:
    meta = hit.metadata
    heading = str(meta.get("heading_path") or "")
    page = int(meta.get("page") or 0) or None
    return RetrievedChunk(
        chunk_id=hit.id,
        document_id=str(meta["document_id"]),
        filename=str(meta.get("filename", "")),
        page=page,
        page_end=int(meta.get("page_end") or 0) or page,
        position=int(meta.get("position", 0)),
        heading_path=heading.split(" > ") if heading else [],
        text=hit.text,
        score=round(score, 6),
        similarity=round(similarity, 6),
        rank=ranks.rank,
        dense_rank=ranks.dense_rank,
        lexical_rank=ranks.lexical_rank,
        bm25=None if ranks.bm25 is None else round(ranks.bm25, 4),
    )


@dataclass
class Retrieval:
    """Chunks best first, with the mode and reranker that produced them."""

    chunks: list[RetrievedChunk]
    mode: RetrievalMode
    reranker: str | None


@dataclass(eq=False)
class RagPipeline:
    """Query a knowledge base (dense, lexical or hybrid, optionally reranked); prepare cited
    answers."""

    settings: Settings
    repo: RagRepository
    collections: CollectionService
    generation: GenerationService
    reranker: Reranker | None = None

    def allowed_documents(
        self, collection: dict[str, Any], filters: QueryFilters | None
    ) -> tuple[set[str], bool]:
        """Ready documents passing the filters (resolved in SQLite), and whether any filter
        was given."""
        docs = [d for d in self.repo.documents(collection["id"]) if d["status"] == "ready"]
        filtered = bool(filters and (filters.document_ids or filters.tags))
        if filters and filters.document_ids:
            wanted = set(filters.document_ids)
            docs = [d for d in docs if d["id"] in wanted]
        if filters and filters.tags:
            tags = set(filters.tags)
            docs = [d for d in docs if tags.intersection(d["tags"])]
        return {d["id"] for d in docs}, filtered

    async def retrieve(self, query: str, options: RetrievalOptions) -> Retrieval:
        """The chunks for ``query`` with a request's retrieval options (its knowledge base,
        top_k, filters, MMR, mode, rerank); the mode defaults to the knowledge base's."""
        o = options
        collection = self.collections.get(o.collection)
        mode = o.mode or collection.get("retrieval_mode") or self.settings.rag_retrieval_mode
        started = time.perf_counter()
        result = await asyncio.to_thread(
            self.search, collection, query, o.top_k, o.filters, o.mmr, o.mmr_lambda, mode, o.rerank
        )
        metrics.RAG_QUERY_SECONDS.labels("query").observe(time.perf_counter() - started)
        return result

    def search(
        self,
        collection: dict[str, Any],
        query: str,
        top_k: int | None,
        filters: QueryFilters | None,
        use_mmr: bool,
        mmr_lambda: float,
        mode: RetrievalMode,
        rerank: bool = True,
        query_vector: np.ndarray | None = None,
    ) -> Retrieval:
        """Blocking retrieval (runs in a worker thread). ``query_vector``: the query's
        embedding when the caller already has it (the benchmark times search without it)."""
        s = self.settings
        k = top_k or s.rag_top_k
        reranker = self.reranker if rerank else None
        allowed, filtered = self.allowed_documents(collection, filters)
        if not allowed:
            return Retrieval([], mode, None)
        pool = max(
            k * 4 if use_mmr else k, s.rag_candidates, s.rag_rerank_candidates if reranker else 0
        )
        embedder = self.collections.embedder_for(collection)
        vector = embedder.embed([query])[0] if query_vector is None else query_vector
        hits: dict[str, VectorHit] = {}
        rankings: list[tuple[list[str], float]] = []
        dense_scores: dict[str, float] = {}
        dense_rank: dict[str, int] = {}
        if mode in ("dense", "hybrid"):
            dense = self._dense(
                collection, vector, pool, allowed, filters if filtered else None, hits
            )
            dense_scores = dict(dense)
            dense_rank = {i: n for n, (i, _) in enumerate(dense, start=1)}
            rankings.append(([i for i, _ in dense], s.rag_dense_weight))
        lexical_scores: dict[str, float] = {}
        lexical_rank: dict[str, int] = {}
        if mode in ("lexical", "hybrid"):
            index = self.collections.lexical(collection)
            lexical = index.search(query, pool, allowed)
            lexical_scores = dict(lexical)
            lexical_rank = {i: n for n, (i, _) in enumerate(lexical, start=1)}
            rankings.append(([i for i, _ in lexical], s.rag_lexical_weight))
        if mode == "hybrid":
            scored = rrf(rankings, s.rag_rrf_k)
        else:
            scored = dense_scores if mode == "dense" else lexical_scores
        order = sorted(scored, key=lambda i: scored[i], reverse=True)
        take = max(
            k * 4 if use_mmr else k, s.rag_rerank_candidates if reranker or mode == "hybrid" else 0
        )
        order = order[:take]
        if filtered:  # lexical results of cached documents need no read from the store
            hits.update(
                self.collections.doc_vectors.cached_hits(
                    collection["vector_name"], allowed, [i for i in order if i not in hits]
                )
            )
        missing = [i for i in order if i not in hits or (use_mmr and hits[i].embedding is None)]
        if missing or mode == "lexical":
            fetched = self.collections.vectors.get(
                collection["vector_name"], ids=order, with_embeddings=True
            )
            hits.update({h.id: h for h in fetched})
        order = [i for i in order if i in hits]
        if mode == "hybrid":
            order = promote_exact(order, {i: hits[i].text for i in order}, query)
        similarity = {
            i: dense_scores[i]
            if i in dense_scores
            else float(hits[i].embedding @ vector)
            if hits[i].embedding is not None
            else 0.0
            for i in order
        }
        used_reranker = None
        if reranker is not None and order:
            texts = [hits[i].text for i in order]
            scores = reranker.score(query, texts)
            scored = dict(zip(order, scores, strict=True))
            order = sorted(order, key=lambda i: scored[i], reverse=True)
            used_reranker = f"{reranker.kind}:{reranker.name}"
        if use_mmr:
            chosen = mmr(
                vector, [hits[i] for i in order if hits[i].embedding is not None], k, mmr_lambda
            )
            order = [h.id for h in chosen]
        chunks = [
            _chunk(
                hits[i],
                scored.get(i, 0.0),
                similarity[i],
                _Ranks(n, dense_rank.get(i), lexical_rank.get(i), lexical_scores.get(i)),
            )
            for n, i in enumerate(order[:k], start=1)
        ]
        return Retrieval(chunks, mode, used_reranker)

    def _dense(
        self,
        collection: dict[str, Any],
        vector: np.ndarray,
        pool: int,
        allowed: set[str],
        filters: QueryFilters | None,
        hits: dict[str, VectorHit],
    ) -> list[tuple[str, float]]:
        """Dense candidates ``(id, cosine)``: exact over cached vectors for a narrow filter,
        else the vector store's nearest-neighbour search."""
        if filters is not None:
            chunks = sum(
                d["chunks"] for d in self.repo.documents(collection["id"]) if d["id"] in allowed
            )
            if chunks <= self.settings.rag_filter_exact_max_chunks:
                return self.collections.doc_vectors.search(
                    collection["vector_name"], sorted(allowed), vector, pool, hits
                )
        where = build_where(filters)
        # A few extra: chunks of documents still being ingested are dropped below.
        found = self.collections.vectors.query(collection["vector_name"], vector, pool + 8, where)
        out = []
        for hit in found:
            if hit.metadata.get("document_id") in allowed:
                hits[hit.id] = hit
                out.append((hit.id, hit.score))
        return out[:pool]

    async def prepare_answer(
        self,
        collection_key: str,
        question: str,
        chunks: list[RetrievedChunk],
        model_id: str | None,
        backend: str | None,
        params: ParamsInput,
    ) -> PreparedAnswer:
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
        job = await self.generation.prepare(
            model_id, params, prompt=prompt, messages=messages, backend=backend
        )
        return PreparedAnswer(job, citations[:kept], len(citations) - kept)


NOT_FOUND_ANSWER = "The documents do not contain an answer to this question."


def grounded(chunks: list[RetrievedChunk], threshold: float) -> bool:
    """Whether any retrieved chunk is similar enough to the question to answer from."""
    return threshold <= 0 or any(c.similarity >= threshold for c in chunks)


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
