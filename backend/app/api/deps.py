"""Dependency aliases for route handlers: the state built in ``lifespan``, typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.services.arena.runs import PromptRunService
from app.services.arena.service import ArenaService
from app.services.auth import AuthService
from app.services.conversations import ConversationService
from app.services.downloads import DownloadService
from app.services.embeddings import EmbeddingService
from app.services.generation import GenerationService
from app.services.mcp import AgentLoop, McpHub
from app.services.models.catalog import CatalogService
from app.services.models.manager import ModelManager
from app.services.models.store import ModelStore
from app.services.quantize import QuantizeService
from app.services.rag import RagService


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_model_manager(request: Request) -> ModelManager:
    return request.app.state.model_manager


def get_model_store(request: Request) -> ModelStore:
    return request.app.state.model_store


def get_generation(request: Request) -> GenerationService:
    return request.app.state.generation


def get_auth(request: Request) -> AuthService:
    return request.app.state.auth


def get_rag(request: Request) -> RagService:
    return request.app.state.rag


def get_embeddings(request: Request) -> EmbeddingService:
    return request.app.state.embeddings


def get_downloads(request: Request) -> DownloadService:
    return request.app.state.downloads


def get_quantize(request: Request) -> QuantizeService:
    return request.app.state.quantize


def get_catalog(request: Request) -> CatalogService:
    return request.app.state.catalog


def get_conversations(request: Request) -> ConversationService:
    return request.app.state.conversations


def get_arena(request: Request) -> ArenaService:
    return request.app.state.arena


def get_prompt_runs(request: Request) -> PromptRunService:
    return request.app.state.prompt_runs


def get_mcp(request: Request) -> McpHub:
    return request.app.state.mcp


def get_agent(request: Request) -> AgentLoop:
    return request.app.state.agent


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ModelManagerDep = Annotated[ModelManager, Depends(get_model_manager)]
ModelStoreDep = Annotated[ModelStore, Depends(get_model_store)]
GenerationDep = Annotated[GenerationService, Depends(get_generation)]
AuthDep = Annotated[AuthService, Depends(get_auth)]
RagDep = Annotated[RagService, Depends(get_rag)]
EmbeddingsDep = Annotated[EmbeddingService, Depends(get_embeddings)]
DownloadsDep = Annotated[DownloadService, Depends(get_downloads)]
QuantizeDep = Annotated[QuantizeService, Depends(get_quantize)]
CatalogDep = Annotated[CatalogService, Depends(get_catalog)]
ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]
ArenaDep = Annotated[ArenaService, Depends(get_arena)]
PromptRunsDep = Annotated[PromptRunService, Depends(get_prompt_runs)]
McpDep = Annotated[McpHub, Depends(get_mcp)]
AgentDep = Annotated[AgentLoop, Depends(get_agent)]
