"""Results of the playground's own MCP tools (``/mcp`` and ``playground mcp``).

The tools that mirror an HTTP route return that route's type (``GenerateResponse``,
``QueryResponse``, ``AnswerResponse``); these are the shapes only the MCP tools have: short
listings an LLM host reads in one go, and a comparison collected rather than streamed.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.generation import GenerateResponse
from app.schemas.models import LocalModelInfo
from app.schemas.rag import Collection


class ModelList(BaseModel):
    """The models this server can generate with."""

    models: list[LocalModelInfo] = Field(description="Local models; use an id as `model`.")
    default_model: str | None = Field(description="Model used when a tool call names none.")


class CompareColumn(BaseModel):
    """One model's answer in a comparison, or why it failed."""

    model: str = Field(description="Model id as asked.")
    text: str | None = Field(default=None, description="Its answer; null when it failed.")
    ttft_ms: float | None = Field(
        default=None, description="Milliseconds to the first token (model loading included)."
    )
    tokens_per_second: float | None = Field(
        default=None, description="Decode rate after the first token."
    )
    response: GenerateResponse | None = Field(
        default=None, description="The whole generation: finish reason, usage and timings."
    )
    error: str | None = Field(default=None, description="Why this model failed, if it did.")


class CompareResult(BaseModel):
    """One prompt run on several models at once, in the order they were named."""

    columns: list[CompareColumn] = Field(description="One entry per model, in request order.")


class KnowledgeBaseList(BaseModel):
    """The knowledge bases (RAG collections) that rag_search and rag_answer can read."""

    knowledge_bases: list[Collection] = Field(description="Use a name or id as knowledge_base.")
