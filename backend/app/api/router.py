"""All API routers, mounted under their prefixes."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.ollama import embed as ollama_embed
from app.api.ollama import generate as ollama_generate
from app.api.ollama import models as ollama_models
from app.api.openai import chat, completions, embeddings, rerank
from app.api.openai import models as openai_models
from app.api.routes import auth as auth_routes
from app.api.routes import backends as backend_routes
from app.api.routes import (
    compare,
    conversations,
    downloads,
    generate,
    models,
    rag,
    rag_eval,
    system,
)

native = APIRouter(prefix="/api/v1")
native.include_router(system.router)
native.include_router(backend_routes.router)
native.include_router(auth_routes.router)
native.include_router(generate.router)
native.include_router(models.router)
native.include_router(downloads.router)
native.include_router(compare.router)
native.include_router(rag.router)
native.include_router(conversations.router)
native.include_router(rag_eval.router)

openai = APIRouter(prefix="/v1")
openai.include_router(chat.router)
openai.include_router(completions.router)
openai.include_router(openai_models.router)
openai.include_router(embeddings.router)
openai.include_router(rerank.router)

# Ollama-compatible API (NDJSON), for existing Ollama clients.
ollama = APIRouter(prefix="/api")
ollama.include_router(ollama_generate.router)
ollama.include_router(ollama_models.router)
ollama.include_router(ollama_embed.router)
