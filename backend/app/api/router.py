"""All API routers, mounted under their prefixes."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.anthropic import messages as anthropic_messages
from app.api.ollama import embed as ollama_embed
from app.api.ollama import generate as ollama_generate
from app.api.ollama import models as ollama_models
from app.api.openai import batches, chat, completions, embeddings, files, rerank, responses
from app.api.openai import models as openai_models
from app.api.routes import (
    arena,
    compare,
    conversations,
    downloads,
    generate,
    mcp,
    models,
    prompt_runs,
    quantize,
    rag,
    rag_eval,
    system,
)
from app.api.routes import auth as auth_routes
from app.api.routes import backends as backend_routes
from app.api.routes import tokenize as tokenize_routes

native = APIRouter(prefix="/api/v1")
native.include_router(system.router)
native.include_router(backend_routes.router)
native.include_router(auth_routes.router)
native.include_router(generate.router)
native.include_router(models.router)
native.include_router(downloads.router)
native.include_router(quantize.router)
native.include_router(compare.router)
native.include_router(prompt_runs.router)
native.include_router(arena.router)
native.include_router(rag.router)
native.include_router(conversations.router)
native.include_router(rag_eval.router)
native.include_router(mcp.router)

openai = APIRouter(prefix="/v1")
openai.include_router(chat.router)
openai.include_router(completions.router)
openai.include_router(openai_models.router)
openai.include_router(embeddings.router)
openai.include_router(rerank.router)
openai.include_router(responses.router)
openai.include_router(files.router)
openai.include_router(batches.router)
# Anthropic's Messages API on the same /v1 prefix (its own error envelope, see its errors.py).
openai.include_router(anthropic_messages.router)

# vLLM's /tokenize and /detokenize at the server root.
root = APIRouter()
root.include_router(tokenize_routes.router)

# Ollama-compatible API (NDJSON), for existing Ollama clients.
ollama = APIRouter(prefix="/api")
ollama.include_router(ollama_generate.router)
ollama.include_router(ollama_models.router)
ollama.include_router(ollama_embed.router)
