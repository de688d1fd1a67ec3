"""``/v1/rerank`` types in the shape Cohere, Jina and vLLM share."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RerankDocument(BaseModel):
    """A document given as an object (Cohere's and Jina's alternative form)."""

    text: str = Field(description="Document text.")


class RerankRequest(BaseModel):
    """Score documents against a query; unknown fields (e.g. ``max_chunks_per_doc``) are
    ignored as clients of other servers send them."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(
        default=None,
        max_length=512,
        description="Reranker name; "
        "informational (the configured reranker, or the embedder, "
        "scores).",
    )
    query: str = Field(min_length=1, max_length=10_000, description="The query.")
    documents: list[str | RerankDocument] = Field(
        min_length=1, max_length=1000, description="Texts (or {text}) to score."
    )
    top_n: int | None = Field(
        default=None, ge=1, description="Return only the best n (default: all)."
    )
    return_documents: bool = Field(default=False, description="Include each document's text.")


class RerankResult(BaseModel):
    index: int = Field(description="Position of the document in the request.")
    relevance_score: float = Field(description="Higher is more relevant.")
    document: RerankDocument | None = Field(default=None, description="With return_documents.")


class RerankUsage(BaseModel):
    total_tokens: int = Field(description="Tokens of query and documents (embedder tokenizer).")


class RerankResponse(BaseModel):
    """Results best first."""

    id: str = Field(description="Request id.")
    model: str = Field(description="What scored: the reranker's name or the embedding model.")
    scored_by: Literal["cross-encoder", "remote", "embedding-cosine"] = Field(
        description="cross-encoder or remote: the configured reranker; embedding-cosine: no "
        "reranker is configured, so scores are the embedder's cosine similarities."
    )
    results: list[RerankResult]
    usage: RerankUsage
