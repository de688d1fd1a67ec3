"""``POST /v1/rerank`` (Cohere/Jina/vLLM shape) from the configured reranker, or from the
embedder's cosine similarity when none is configured (the response says which)."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter

from app.api.deps import RagDep
from app.schemas.common import error_responses
from app.schemas.rerank import (
    RerankDocument,
    RerankRequest,
    RerankResponse,
    RerankResult,
    RerankUsage,
)
from app.services.rag.rerank import EmbeddingCosineReranker, Reranker

router = APIRouter(tags=["openai"])


@router.post(
    "/rerank",
    response_model=RerankResponse,
    responses=error_responses(400, 404, 502),
    operation_id="openai-create_rerank",
)
async def create_rerank(body: RerankRequest, rag: RagDep):
    """Relevance of each document to the query, best first."""
    texts = [d if isinstance(d, str) else d.text for d in body.documents]
    embedder = rag.embedders.get(None)
    reranker: Reranker = rag.reranker or EmbeddingCosineReranker(embedder)

    def work() -> tuple[list[float], int]:
        tokens = sum(embedder.count_tokens(t) for t in [body.query, *texts])
        return reranker.score(body.query, texts), tokens

    scores, tokens = await asyncio.to_thread(work)
    order = sorted(range(len(texts)), key=lambda i: scores[i], reverse=True)[: body.top_n]
    return RerankResponse(
        id=uuid.uuid4().hex,
        model=reranker.name,
        scored_by=reranker.kind,  # type: ignore[arg-type]
        results=[
            RerankResult(
                index=i,
                relevance_score=scores[i],
                document=RerankDocument(text=texts[i]) if body.return_documents else None,
            )
            for i in order
        ],
        usage=RerankUsage(total_tokens=tokens),
    )
