"""The RAG lab's engine: build a temporary index per retrieval configuration, ask every question,
and score what came back (hit@1, hit@5, MRR, nDCG@5, latency, index build time).

A temporary index holds one configuration's chunks (chunk size, overlap, structure-aware or per
page, embedding model): exact dense search over a numpy matrix of unit vectors (the live
knowledge base uses Chroma's HNSW, which returns the same neighbours at these sizes) and a
:class:`LexicalIndex` in a scratch folder, fused by the same :func:`rrf` as live queries and
optionally reranked by the configured reranker. The scratch folder is removed afterwards.
``scripts/bench/rag_eval.py`` runs the same engine on the bundled evaluation PDFs.

Relevance of a retrieved chunk: it comes from the expected document and, when the question
gives pages, its page span overlaps them; when it gives an expected text, the chunk contains
it (case and whitespace ignored). nDCG@5 uses binary gains with the ideal ranking holding as
many relevant chunks as were retrieved in the top 5 (at least one).
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.services.rag.chunk_filter import drop_toc
from app.services.rag.chunking import Chunk, chunk_sections
from app.services.rag.embedder import Embedder
from app.services.rag.lexical import LexicalIndex, Tokenizer
from app.services.rag.loaders import parse
from app.services.rag.pipeline import promote_exact, rrf
from app.services.rag.rerank import Reranker

_SPACES = re.compile(r"\s+")


@dataclass
class EvalQuestion:
    """A question with where its answer is."""

    question: str
    document: str  # file name (or document id) of the expected document
    pages: list[int] = field(default_factory=list)
    text: str | None = None
    source_chunk: str | None = None  # for generated questions: the chunk it was made from


@dataclass
class EvalConfig:
    """One retrieval configuration to compare."""

    name: str
    chunk_size: int = 200
    chunk_overlap: int = 40
    structure: bool = True
    mode: str = "hybrid"
    rerank: bool = False
    top_k: int = 5
    embedding_model: str | None = None


@dataclass
class SourceDocument:
    """A document to index: its id, file name and bytes."""

    id: str
    filename: str
    data: bytes


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def relevant(chunk: dict[str, Any], q: EvalQuestion) -> bool:
    """Whether a retrieved chunk answers ``q`` (see the module docstring)."""
    if q.document not in (chunk["filename"], chunk["document_id"]):
        return False
    if q.pages:
        first = chunk.get("page") or 0
        last = chunk.get("page_end") or first
        if not any(first <= p <= last for p in q.pages):
            return False
    return not q.text or _norm(q.text) in _norm(chunk["text"])


def question_metrics(flags: list[bool]) -> dict[str, float]:
    """hit@1, hit@5, reciprocal rank and nDCG@5 of one ranked list of relevance flags."""
    first = next((i for i, f in enumerate(flags) if f), None)
    top5 = flags[:5]
    dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(top5) if f)
    ideal = sum(1 / math.log2(i + 2) for i in range(max(1, sum(top5))))
    return {
        "hit1": float(first == 0),
        "hit5": float(first is not None and first < 5),
        "rr": 0.0 if first is None else 1 / (first + 1),
        "ndcg5": dcg / ideal,
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


class TemporaryIndex:
    """One configuration's chunks of a set of documents, searchable dense, lexical or hybrid."""

    def __init__(
        self,
        config: EvalConfig,
        embedder: Embedder,
        tokenizer: Tokenizer,
        scratch: Path,
        max_pages: int,
        rrf_k: int = 60,
    ) -> None:
        self.config = config
        self.embedder = embedder
        self.scratch = scratch
        self.rrf_k = rrf_k
        self.lexical = LexicalIndex(scratch / "lexical", tokenizer)
        self.max_pages = max_pages
        self.rows: list[dict[str, Any]] = []
        self.matrix = np.zeros((0, 1), dtype=np.float32)
        self.build_seconds = 0.0

    def build(self, documents: list[SourceDocument], batch: int = 64) -> None:
        started = time.perf_counter()
        cfg = self.config
        items, texts = [], []
        for doc in documents:
            parsed = parse(
                doc.filename, doc.data, max_pages=self.max_pages, structure=cfg.structure
            )
            chunks: list[Chunk] = chunk_sections(
                parsed.sections, cfg.chunk_size, cfg.chunk_overlap, self.embedder.offsets_fn
            )
            chunks, _ = drop_toc(chunks)  # as ingestion does: a contents page answers nothing
            ids = []
            for position, chunk in enumerate(chunks):
                chunk_id = f"{doc.id}:{position}"
                ids.append(chunk_id)
                self.rows.append(
                    {
                        "chunk_id": chunk_id,
                        "document_id": doc.id,
                        "filename": doc.filename,
                        "page": chunk.page,
                        "page_end": chunk.page_end or chunk.page,
                        "heading_path": chunk.heading_path,
                        "text": chunk.text,
                    }
                )
                texts.append(chunk.indexed_text)
            items.append((doc.id, ids, [chunk.indexed_text for chunk in chunks]))
        self.matrix = self.embedder.embed(texts, batch_size=batch) if texts else self.matrix
        self.lexical.add_documents(items)
        self.build_seconds = time.perf_counter() - started

    def search(
        self, query: str, reranker: Reranker | None = None, candidates: int = 50
    ) -> list[dict[str, Any]]:
        cfg = self.config
        if not self.rows:
            return []
        index_of = {r["chunk_id"]: i for i, r in enumerate(self.rows)}
        rankings: list[tuple[list[str], float]] = []
        scores: dict[str, float] = {}
        cosine: dict[str, float] = {}
        bm25: dict[str, float] = {}
        if cfg.mode in ("dense", "hybrid"):
            sims = self.matrix @ self.embedder.embed([query])[0]
            top = np.argsort(-sims, kind="stable")[:candidates]
            dense = [self.rows[i]["chunk_id"] for i in top]
            rankings.append((dense, 1.0))
            scores = {self.rows[i]["chunk_id"]: float(sims[i]) for i in top}
            cosine = {r["chunk_id"]: float(sims[i]) for i, r in enumerate(self.rows)}
        if cfg.mode in ("lexical", "hybrid"):
            lexical = self.lexical.search(query, candidates)
            rankings.append(([c for c, _ in lexical], 1.0))
            bm25 = dict(lexical)
            if cfg.mode == "lexical":
                scores = dict(lexical)
        if cfg.mode == "hybrid":
            scores = rrf(rankings, self.rrf_k)
        order = sorted(scores, key=lambda c: scores[c], reverse=True)
        if cfg.mode == "hybrid":
            pool = order[: max(cfg.top_k, 20)]
            order = promote_exact(pool, {c: self.rows[index_of[c]]["text"] for c in pool}, query)
        if reranker is not None and cfg.rerank:
            pool = order[: max(cfg.top_k, 20)]
            rescored = dict(
                zip(
                    pool,
                    reranker.score(query, [self.rows[index_of[c]]["text"] for c in pool]),
                    strict=True,
                )
            )
            order = sorted(pool, key=lambda c: rescored[c], reverse=True)
        return [
            {
                **self.rows[index_of[c]],
                "score": scores.get(c, 0.0),
                "rank": n,
                "similarity": cosine.get(c),
                "bm25": bm25.get(c),
            }
            for n, c in enumerate(order[: cfg.top_k], start=1)
        ]

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


ProgressFn = Callable[[int, int, str], None]


def evaluate(
    documents: list[SourceDocument],
    questions: list[EvalQuestion],
    configs: list[EvalConfig],
    embedder_for: Callable[[str | None], Embedder],
    scratch_root: Path,
    max_pages: int,
    reranker: Reranker | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Run every configuration on every question (blocking). Returns ``{configurations:
    [{config, metrics}], questions: [{question, ..., results: {config name: [chunks]}}]}``."""
    tokenizer = Tokenizer()
    total = len(configs) * (1 + len(questions))
    done = 0
    summaries: list[dict[str, Any]] = []
    drill: list[dict[str, Any]] = [
        {
            "question": q.question,
            "document": q.document,
            "pages": q.pages,
            "text": q.text,
            "results": {},
        }
        for q in questions
    ]
    scratch_root.mkdir(parents=True, exist_ok=True)
    for cfg in configs:
        index = TemporaryIndex(
            cfg,
            embedder_for(cfg.embedding_model),
            tokenizer,
            Path(tempfile.mkdtemp(prefix="eval-", dir=scratch_root)),
            max_pages,
        )
        try:
            if progress:
                progress(done, total, f"{cfg.name}: building the index")
            index.build(documents)
            done += 1
            per_q: list[dict[str, float]] = []
            latencies: list[float] = []
            for q, row in zip(questions, drill, strict=True):
                if cancelled():
                    raise InterruptedError("evaluation cancelled")
                started = time.perf_counter()
                found = index.search(q.question, reranker)
                latencies.append((time.perf_counter() - started) * 1000)
                flags = [relevant(c, q) for c in found]
                m = question_metrics(flags)
                per_q.append(m)
                row["results"][cfg.name] = {
                    **m,
                    "chunks": [
                        {
                            "chunk_id": c["chunk_id"],
                            "filename": c["filename"],
                            "page": c["page"],
                            "page_end": c["page_end"],
                            "heading_path": c["heading_path"],
                            "relevant": f,
                            "score": round(float(c["score"]), 6),
                            "rank": c["rank"],
                            "similarity": _rounded(c["similarity"], 4),
                            "bm25": _rounded(c["bm25"], 4),
                            "text": c["text"][:300],
                        }
                        for c, f in zip(found, flags, strict=True)
                    ],
                }
                done += 1
                if progress and (done % 5 == 0 or done == total):
                    progress(done, total, f"{cfg.name}: questions")
            n = max(1, len(per_q))
            summaries.append(
                {
                    "config": cfg.__dict__,
                    "metrics": {
                        "hit_at_1": sum(m["hit1"] for m in per_q) / n,
                        "hit_at_5": sum(m["hit5"] for m in per_q) / n,
                        "mrr": sum(m["rr"] for m in per_q) / n,
                        "ndcg_at_5": sum(m["ndcg5"] for m in per_q) / n,
                        "latency_p50_ms": percentile(latencies, 50),
                        "latency_p95_ms": percentile(latencies, 95),
                        "index_build_s": index.build_seconds,
                        "chunks": len(index.rows),
                        "questions": len(per_q),
                    },
                }
            )
        finally:
            index.close()
    return {"configurations": summaries, "questions": drill}
