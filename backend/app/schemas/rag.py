"""RAG API types: knowledge bases, documents, ingestion jobs, query and answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import (
    MAX_STOP_SEQUENCES,
    BackendName,
    MaxTokens,
    RepetitionPenalty,
    Seed,
    Temperature,
    Text,
    TopK,
    TopP,
)
from app.schemas.generation import GenerateResponse

ChunkSize = Field(
    default=None,
    ge=16,
    le=8192,
    description="Chunk size in embedding-model tokens; default: the knowledge base's.",
)
RetrievalMode = Literal["dense", "lexical", "hybrid"]

ChunkOverlap = Field(
    default=None,
    ge=0,
    le=4096,
    description="Overlap between consecutive chunks in tokens; default: the knowledge base's.",
)


class CollectionCreate(BaseModel):
    """A new knowledge base."""

    name: str = Field(
        min_length=2,
        max_length=128,
        description="Unique name (letters, digits, spaces, '.', '_', '-').",
    )
    description: str = Field(default="", max_length=2000, description="Free text.")
    embedding_model: str | None = Field(
        default=None,
        max_length=512,
        description="Embedding model (default: the server's, all-MiniLM-L6-v2). Fixed for the "
        "knowledge base's life so queries never mix vector spaces.",
    )
    chunk_size: int | None = ChunkSize
    chunk_overlap: int | None = ChunkOverlap
    retrieval_mode: RetrievalMode | None = Field(
        default=None,
        description="Default retrieval mode of its queries (default: the server's, hybrid).",
    )


class CollectionUpdate(BaseModel):
    """Change a knowledge base's settings."""

    retrieval_mode: RetrievalMode = Field(description="Default retrieval mode of its queries.")


class Collection(BaseModel):
    """A knowledge base."""

    id: str = Field(description="Knowledge base id.")
    name: str = Field(description="Unique name; usable wherever an id is.")
    description: str = Field(description="Free text.")
    embedding_model: str = Field(description="Embedding model of every vector in it.")
    dimension: int = Field(description="Embedding dimension.")
    chunk_size: int = Field(description="Default chunk size (tokens) of uploads.")
    chunk_overlap: int = Field(description="Default chunk overlap (tokens) of uploads.")
    documents: int = Field(description="Documents fully ingested.")
    retrieval_mode: RetrievalMode = Field(description="Default retrieval mode of its queries.")
    created_at: float = Field(description="Unix time of creation.")


class Document(BaseModel):
    """An uploaded document."""

    id: str = Field(description="Document id.")
    collection_id: str = Field(description="Knowledge base it belongs to.")
    filename: str = Field(description="Name the client gave (stored under a generated name).")
    kind: Literal["pdf", "txt", "md"] = Field(description="Detected from the content.")
    sha256: str = Field(description="Hash of the file; one copy per knowledge base.")
    size_bytes: int = Field(description="File size.")
    pages: int = Field(description="PDF pages (1 for text files).")
    chunks: int = Field(description="Chunks stored (0 while ingesting).")
    status: Literal["ingesting", "ready"] = Field(description="ready once fully stored.")
    tags: list[str] = Field(description="User tags; filter queries with them.")
    metadata: dict[str, Any] = Field(description="User metadata given at upload.")
    chunk_size: int = Field(description="Chunk size used (tokens).")
    chunk_overlap: int = Field(description="Chunk overlap used (tokens).")
    created_at: float = Field(description="Unix time of upload.")


class UploadItem(BaseModel):
    """What happened to one uploaded file."""

    filename: str = Field(description="File name as uploaded.")
    document_id: str = Field(description="New document, or the existing one for a duplicate.")
    job_id: str | None = Field(description="Ingestion job; null for a duplicate.")
    duplicate: bool = Field(
        description="True when the same content (sha256) was already in "
        "the knowledge base; nothing new is stored."
    )


class UploadResponse(BaseModel):
    """Result of an upload: one item per file, in order."""

    items: list[UploadItem] = Field(description="One entry per uploaded file.")


class IngestionJob(BaseModel):
    """Progress of one document's ingestion (also the payload of its SSE events)."""

    id: str = Field(description="Job id.")
    document_id: str = Field(description="Document being ingested (removed if the job fails).")
    collection_id: str = Field(description="Target knowledge base.")
    filename: str = Field(description="File name as uploaded.")
    status: Literal["queued", "running", "succeeded", "failed"] = Field(description="State.")
    pages_total: int = Field(description="Pages in the document.")
    pages_parsed: int = Field(description="Pages parsed and chunked so far.")
    chunks_total: int = Field(description="Chunks to embed (known after chunking).")
    chunks_embedded: int = Field(description="Chunks embedded and stored so far.")
    chunks_skipped: int = Field(
        default=0,
        description="Chunks dropped before embedding as tables of contents (lines of dot "
        "leaders such as 'Introduction ..... 3'): they match every question and answer none.",
    )
    error: str | None = Field(description="Why it failed.")
    created_at: float = Field(description="Unix time the job was queued.")
    updated_at: float = Field(description="Unix time of the last change.")


class QueryFilters(BaseModel):
    """Restrict retrieval to some documents or tags (both: a chunk must match both)."""

    document_ids: list[str] | None = Field(
        default=None, max_length=1000, description="Only these documents."
    )
    tags: list[str] | None = Field(
        default=None, max_length=100, description="Only documents carrying at least one of these."
    )


class RetrievalOptions(BaseModel):
    collection: str = Field(min_length=1, max_length=128, description="Knowledge base id or name.")
    top_k: int | None = Field(
        default=None, ge=1, le=100, description="Chunks to return (default from settings)."
    )
    filters: QueryFilters | None = Field(default=None, description="Optional filters.")
    mmr: bool = Field(
        default=False,
        description="Re-rank with maximal marginal relevance to avoid near-duplicate chunks.",
    )
    mmr_lambda: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="MMR trade-off: 1 = relevance only, 0 = diversity only.",
    )
    mode: RetrievalMode | None = Field(
        default=None,
        description="dense (embeddings), lexical (BM25) or hybrid (both, fused "
        "by reciprocal rank fusion); default: the knowledge base's.",
    )
    rerank: bool = Field(
        default=True,
        description="Rerank candidates with the configured "
        "reranker (no effect when none is configured).",
    )


class QueryRequest(RetrievalOptions):
    """Retrieve the chunks nearest to a query."""

    query: Text = Field(min_length=1, max_length=10_000, description="Search text.")


class RetrievedChunk(BaseModel):
    """A chunk with its similarity to the query."""

    chunk_id: str = Field(description="Chunk id (document id and position).")
    document_id: str = Field(description="Document it came from.")
    filename: str = Field(description="Document's file name.")
    page: int | None = Field(description="PDF page, numbered from 1 as a viewer shows it.")
    page_end: int | None = Field(
        default=None,
        description="Last PDF page the chunk covers (equals page unless it spans a page break).",
    )
    position: int = Field(description="Index of the chunk within its document.")
    heading_path: list[str] = Field(
        description="Section path of the chunk (Markdown headings; "
        "PDF outline or detected headings)."
    )
    text: str = Field(description="Chunk text, exactly as in the document.")
    score: float = Field(
        description="Ranking score of the mode: cosine (dense), BM25 "
        "(lexical), reciprocal-rank-fusion sum (hybrid: about 1/(60+rank) per list, so 0.03 "
        "is a top hit, not a weak one), or the reranker's. Compare it only within one answer; "
        "`rank`, `similarity` and `bm25` read on their own."
    )
    similarity: float = Field(
        default=0.0,
        description="Cosine similarity of the chunk to the "
        "query (1 = identical), whatever the mode.",
    )
    rank: int = Field(
        default=0,
        description="Place in this result list, 1 = best (after fusion, reranking and MMR).",
    )
    dense_rank: int | None = Field(
        default=None,
        description="Place among the dense (embedding) candidates, 1 = nearest; null when the "
        "dense search did not run or did not return this chunk.",
    )
    lexical_rank: int | None = Field(
        default=None,
        description="Place among the BM25 candidates, 1 = best; null when the lexical search "
        "did not run or did not return this chunk.",
    )
    bm25: float | None = Field(
        default=None,
        description="BM25 score of the chunk for the query (higher = more query words, rarer "
        "ones weighing more); null when the lexical search did not return it.",
    )


class QueryResponse(BaseModel):
    chunks: list[RetrievedChunk] = Field(description="Best first.")
    mode: RetrievalMode = Field(default="hybrid", description="Retrieval mode used.")
    reranker: str | None = Field(
        default=None, description="Reranker that ordered the chunks, or null for none."
    )


class Citation(RetrievedChunk):
    """A numbered source given to the model; the answer cites it as [n]."""

    n: int = Field(description="Number the answer uses, as [n].")


class AnswerRequest(RetrievalOptions):
    """Answer a question from a knowledge base with cited sources. ``top_k`` is the number of
    chunks retrieved; the sampling top-k is ``sampling_top_k``."""

    question: Text = Field(min_length=1, max_length=10_000, description="The question.")
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Model that answers; default: the server's.",
    )
    backend: BackendName | None = None
    stream: bool = Field(
        default=False,
        description="Stream as server-sent events: `sources`, `token`..., then `done` or `error`.",
    )
    max_tokens: MaxTokens | None = None
    # Unset: the model's defaults, then the server's (docs/models.md).
    temperature: Temperature | None = None
    top_p: TopP | None = None
    sampling_top_k: TopK | None = None
    repetition_penalty: RepetitionPenalty | None = None
    seed: Seed | None = None
    stop: list[str] = Field(
        default_factory=list,
        max_length=MAX_STOP_SEQUENCES,
        description="Up to 4 strings; generation ends before the first one.",
    )


class AnswerResponse(BaseModel):
    """An answer with the sources it was given."""

    answer: GenerateResponse = Field(description="The generation (text, usage, timings).")
    citations: list[Citation] = Field(description="Sources in the prompt, numbered [n].")
    sources_dropped: int = Field(
        description="Retrieved sources left out (lowest scores first) "
        "so the prompt fits the model's context."
    )
    grounded: bool = Field(
        default=True,
        description="False when no retrieved chunk reached "
        "the similarity threshold: the answer then says the documents do "
        "not contain it, and no model ran.",
    )
    cited: list[int] = Field(
        default_factory=list,
        description="Source numbers the answer "
        "cites, in order of first use; each is one of citations[].n.",
    )
    invalid_citations: list[int] = Field(
        default_factory=list,
        description="Numbers the model "
        "wrote as [n] that match no given source; removed "
        "from the text.",
    )


class SourcesEvent(BaseModel):
    """First event of a streamed answer."""

    citations: list[Citation] = Field(description="Sources in the prompt, numbered [n].")
    sources_dropped: int = Field(description="Sources left out to fit the context.")


# --- OpenAI embeddings (/v1/embeddings) --------------------------------------------------------


class EmbeddingRequest(BaseModel):
    """OpenAI's embeddings request; unknown fields are ignored as OpenAI clients send extras."""

    model_config = ConfigDict(extra="ignore")

    input: Text | list[Text] | list[int] | list[list[int]] = Field(
        description="Text or list of texts (up to 2048). Token-id arrays are not accepted."
    )
    model: str = Field(
        min_length=1, max_length=512, description="Embedding model, e.g. all-MiniLM-L6-v2."
    )
    encoding_format: Literal["float", "base64"] = Field(
        default="float", description="float: JSON numbers; base64: little-endian float32 bytes."
    )
    dimensions: int | None = Field(
        default=None, ge=1, description="Must equal the model's dimension if given."
    )
    user: str | None = Field(default=None, description="Ignored.")


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int = Field(description="Position of the input.")
    embedding: list[float] | str = Field(description="Unit-length vector (or base64 float32).")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int = Field(description="Tokens in all inputs.")
    total_tokens: int = Field(description="Same as prompt_tokens.")


class EmbeddingResponse(BaseModel):
    """OpenAI's embeddings response."""

    object: Literal["list"] = "list"
    data: list[EmbeddingData] = Field(description="One embedding per input, in order.")
    model: str = Field(description="Model that embedded.")
    usage: EmbeddingUsage
