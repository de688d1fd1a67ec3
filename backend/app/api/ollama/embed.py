"""``POST /api/embed`` and the older ``POST /api/embeddings``: Ollama's embeddings, from the
model's own backend (llama.cpp GGUF, Ollama) or from the RAG embedder for sentence-transformers
models, through the shared :class:`~app.services.embeddings.EmbeddingService`."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import EmbeddingsDep
from app.api.ollama.translate import model_id
from app.schemas.ollama import OllamaEmbeddingsRequest, OllamaEmbedRequest
from app.services.embeddings import input_texts

router = APIRouter(tags=["ollama"])


@router.post("/embed")
async def embed(body: OllamaEmbedRequest, embeddings: EmbeddingsDep):
    """Embed one text or many; vectors are unit length."""
    result = await embeddings.embed(
        model_id(body.model), input_texts(body.input), dimensions=body.dimensions
    )
    return {
        "model": body.model,
        "embeddings": result.vectors.tolist(),
        "total_duration": int(result.total_s * 1e9),
        "load_duration": int(result.load_s * 1e9),
        "prompt_eval_count": result.tokens,
    }


@router.post("/embeddings")
async def embed_one(body: OllamaEmbeddingsRequest, embeddings: EmbeddingsDep):
    """One text, one vector (Ollama's older endpoint, deprecated there for /api/embed but
    still served); an empty prompt gives an empty vector, as in Ollama."""
    if not body.prompt:
        return {"embedding": []}
    result = await embeddings.embed(model_id(body.model), [body.prompt])
    return {"embedding": result.vectors[0].tolist()}
