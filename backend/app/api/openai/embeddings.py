"""``POST /v1/embeddings``: OpenAI embeddings from the RAG embedders (sentence-transformers),
through the shared :class:`~app.services.embeddings.EmbeddingService`."""

from __future__ import annotations

import base64

from fastapi import APIRouter

from app.api.deps import EmbeddingsDep
from app.schemas.common import error_responses
from app.schemas.rag import EmbeddingData, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from app.services.embeddings import input_texts

router = APIRouter(tags=["openai"])


@router.post(
    "/embeddings",
    response_model=EmbeddingResponse,
    responses=error_responses(400, 404),
    operation_id="openai-create_embeddings",
)
async def create_embeddings(body: EmbeddingRequest, embeddings: EmbeddingsDep):
    """Embeddings in OpenAI's format (float or base64), unit length."""
    result = await embeddings.embed(
        body.model, input_texts(body.input), dimensions=body.dimensions, embedders_only=True
    )
    data = [
        EmbeddingData(
            index=i,
            embedding=base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
            if body.encoding_format == "base64"
            else v.tolist(),
        )
        for i, v in enumerate(result.vectors)
    ]
    return EmbeddingResponse(
        data=data,
        model=body.model,
        usage=EmbeddingUsage(prompt_tokens=result.tokens, total_tokens=result.tokens),
    )
