"""``POST /api/embed``: Ollama's embeddings, from the model's own backend (llama.cpp GGUF,
Ollama) or from the RAG embedder for sentence-transformers models."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request

from app.api.deps import ModelManagerDep
from app.api.ollama.common import ollama_errors
from app.core.errors import InvalidRequest
from app.schemas.ollama import OllamaEmbedRequest
from app.services.capabilities import check_embeddings
from app.services.limits import check_input_chars
from app.services.ollama_compat import model_id

router = APIRouter(tags=["ollama"])

MAX_INPUTS = 2048


@router.post("/embed")
@ollama_errors
async def embed(body: OllamaEmbedRequest, manager: ModelManagerDep, request: Request):
    """Embed one text or many; vectors are unit length."""
    started = time.perf_counter()
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts or any(not t for t in texts) or len(texts) > MAX_INPUTS:
        raise InvalidRequest(f"input must be 1 to {MAX_INPUTS} non-empty strings.", param="input")
    mid = model_id(body.model)
    chars_per_token = request.app.state.settings.prompt_chars_per_token
    rag = getattr(request.app.state, "rag", None)
    load_s = 0.0
    if rag is not None and mid in rag.embedders.allowed():
        embedder = rag.embedders.get(mid)
        max_tokens = await asyncio.to_thread(lambda: embedder.max_tokens)  # may load it
        check_input_chars(texts, max_tokens, chars_per_token)
        vectors = [v.tolist() for v in await asyncio.to_thread(embedder.embed, texts)]
        tokens = sum(await asyncio.to_thread(lambda: [embedder.count_tokens(t) for t in texts]))
    else:
        loaded, load_s = await manager.get(mid, reserve=False)
        engine = loaded.backend
        check_embeddings(engine.capabilities, loaded.backend_name, mid)
        if engine.capabilities.local_tokenizer:
            check_input_chars(texts, engine.context_length, chars_per_token)
        vectors = await asyncio.to_thread(engine.embed, texts)
        tokens = 0
        if engine.capabilities.local_tokenizer:  # off the event loop: texts may be long
            tokens = await asyncio.to_thread(lambda: sum(len(engine.tokenize(t)) for t in texts))
    if body.dimensions is not None and vectors and body.dimensions != len(vectors[0]):
        raise InvalidRequest(
            f"'{mid}' has {len(vectors[0])} dimensions, not {body.dimensions}.", param="dimensions"
        )
    total_ns = int((time.perf_counter() - started) * 1e9)
    return {
        "model": body.model,
        "embeddings": vectors,
        "total_duration": total_ns,
        "load_duration": int(load_s * 1e9),
        "prompt_eval_count": tokens,
    }
