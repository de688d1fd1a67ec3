"""All API routers, mounted under their prefixes."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.openai import chat, completions
from app.api.openai import models as openai_models
from app.api.routes import compare, generate, models, system

native = APIRouter(prefix="/api/v1")
native.include_router(system.router)
native.include_router(generate.router)
native.include_router(models.router)
native.include_router(compare.router)

openai = APIRouter(prefix="/v1")
openai.include_router(chat.router)
openai.include_router(completions.router)
openai.include_router(openai_models.router)
