"""Every table of the metadata database, declared once (SQLAlchemy Core, no ORM).

The stores under ``app/services`` are the only code that reads and writes these tables; the
schema itself is changed only by Alembic migrations (``app/core/migrations``), which
``Database`` runs at start-up. Timestamps are unix seconds as floats (``Float``: double
precision on PostgreSQL); flags are integers 0/1 and JSON is kept in ``Text`` columns, as the
first (SQLite-only) schema had them, so existing databases need no data conversion.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# --- API keys and sessions (services/auth.py) ---------------------------------------------------
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("admin", Integer, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)
auth_meta = Table(
    "auth_meta",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# --- conversations (services/conversations/store.py) --------------------------------------------
conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("model", Text),
    Column("backend", Text),
    Column("system", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("conversations_updated", "updated_at"),
)
conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "conversation_id",
        Text,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("model", Text),
    Column("backend", Text),
    Column("parameters", Text),
    Column("finish_reason", Text),
    Column("ttft_ms", Float),
    Column("tokens_per_second", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("total_ms", Float),
    # Answers with MCP tools (migration 0004): JSON of an assistant message's calls, the call
    # a tool message answers, and JSON of that result's server, tool, status and duration.
    Column("tool_calls", Text),
    Column("tool_call_id", Text),
    Column("tool_result", Text),
    UniqueConstraint("conversation_id", "position"),
)

# --- RAG (services/rag/store.py, services/rag/evaluations.py) -----------------------------------
rag_collections = Table(
    "rag_collections",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("embedding_model", Text, nullable=False),
    Column("dimension", Integer, nullable=False),
    Column("chunk_size", Integer, nullable=False),
    Column("chunk_overlap", Integer, nullable=False),
    Column("vector_name", Text, nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("retrieval_mode", Text, nullable=False, server_default="hybrid"),
)
rag_documents = Table(
    "rag_documents",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "collection_id",
        Text,
        ForeignKey("rag_collections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("filename", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("chunks", Integer, nullable=False, server_default="0"),
    Column("status", Text, nullable=False),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("stored_name", Text, nullable=False),
    Column("chunk_size", Integer, nullable=False),
    Column("chunk_overlap", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("collection_id", "sha256"),
    Index("rag_documents_collection", "collection_id"),
)
rag_jobs = Table(
    "rag_jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("document_id", Text, nullable=False),
    Column("collection_id", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("pages_total", Integer, nullable=False, server_default="0"),
    Column("pages_parsed", Integer, nullable=False, server_default="0"),
    Column("chunks_total", Integer, nullable=False, server_default="0"),
    Column("chunks_embedded", Integer, nullable=False, server_default="0"),
    Column("chunks_skipped", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("rag_jobs_status", "status"),
)
rag_evaluations = Table(
    "rag_evaluations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("collection_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("stage", Text, nullable=False, server_default=""),
    Column("error", Text),
    Column("request", Text, nullable=False),
    Column("result", Text),
    Column("created_at", Float, nullable=False),
)

# --- model downloads (services/downloads/jobs.py) -----------------------------------------------
download_jobs = Table(
    "download_jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("repo_id", Text),
    Column("revision", Text),
    Column("commit_sha", Text),
    Column("url", Text),
    Column("name", Text, nullable=False),
    Column("single_file", Integer, nullable=False),
    Column("files", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("error_code", Text),
    Column("bytes_total", BigInteger),
    Column("bytes_done", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float),
)

# --- Files and Batches APIs (services/batches/) -------------------------------------------------
files = Table(
    "files",
    metadata,
    Column("id", Text, primary_key=True),
    Column("filename", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
batches = Table(
    "batches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("data", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
batch_lines = Table(
    "batch_lines",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("custom_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("result", Text),
    PrimaryKeyConstraint("batch_id", "line_no"),
)

# --- stored Responses (services/responses_store.py) ---------------------------------------------
responses = Table(
    "responses",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("model", Text, nullable=False),
    Column("previous_response_id", Text),
    Column("input_items", Text, nullable=False),
    Column("history", Text, nullable=False),
    Column("response", Text, nullable=False),
)

# --- arena and prompt-set runs (services/arena/) ------------------------------------------------
arena_battles = Table(
    "arena_battles",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("prompt", Text, nullable=False),
    Column("system", Text),
    Column("params", Text, nullable=False),
    Column("model_a", Text, nullable=False),
    Column("model_b", Text, nullable=False),
    Column("answer_a", Text, nullable=False),
    Column("answer_b", Text, nullable=False),
    Column("figures_a", Text, nullable=False),
    Column("figures_b", Text, nullable=False),
)
arena_votes = Table(
    "arena_votes",
    metadata,
    Column(
        "battle_id",
        Text,
        ForeignKey("arena_battles.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("winner", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("source", Text, nullable=False),
    CheckConstraint("winner IN ('a', 'b', 'tie', 'both_bad')"),
    CheckConstraint("source IN ('battle', 'run')"),
    Index("arena_votes_created", "created_at"),
)
prompt_runs = Table(
    "prompt_runs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("batch_id", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
prompt_run_ratings = Table(
    "prompt_run_ratings",
    metadata,
    Column("run_id", Text, ForeignKey("prompt_runs.id", ondelete="CASCADE"), nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("model", Text, nullable=False),
    Column("thumb", Text, nullable=False),
    Column("rated_at", Float, nullable=False),
    PrimaryKeyConstraint("run_id", "row_no", "model"),
)

# --- quantization (services/quantize/store.py) --------------------------------------------------
quantize_jobs = Table(
    "quantize_jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("model", Text, nullable=False),
    Column("source_format", Text, nullable=False),
    Column("types", Text, nullable=False),  # JSON list of type names, in the order run
    Column("status", Text, nullable=False),
    Column("stage", Text),
    Column("current", Integer, nullable=False, server_default="0"),
    Column("warning", Text),
    Column("error", Text),
    Column("error_code", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("quantize_jobs_status", "status"),
)
quantized_models = Table(
    "quantized_models",
    metadata,
    Column("name", Text, primary_key=True),
    Column("job_id", Text, nullable=False),
    Column("parent", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("parameters", BigInteger, nullable=False),
    Column("bits_per_weight", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("quantized_models_job", "job_id"),
)
