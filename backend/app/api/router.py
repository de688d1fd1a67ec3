"""All API routers, mounted under their prefixes."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.openai import chat, completions, embeddings
from app.api.openai import models as openai_models
from app.api.routes import auth as auth_routes
from app.api.routes import compare, downloads, generate, models, rag, system

native = APIRouter(prefix="/api/v1")
native.include_router(system.router)
native.include_router(auth_routes.router)
native.include_router(generate.router)
native.include_router(models.router)
native.include_router(downloads.router)
native.include_router(compare.router)
native.include_router(rag.router)

openai = APIRouter(prefix="/v1")
openai.include_router(chat.router)
openai.include_router(completions.router)
openai.include_router(openai_models.router)
openai.include_router(embeddings.router)
