"""The FastAPI application: ``create_app()`` builds it; ``lifespan`` builds its services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from mcp.server import MCPServer

from app.api.browser_guard import BrowserGuardMiddleware
from app.api.errors import install_error_handlers
from app.api.json_body import JsonBodyMiddleware
from app.api.mcp_server import mount_mcp, serving
from app.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from app.api.openai.batch_lines import make_dispatcher
from app.api.openapi import install_openapi
from app.api.router import native, ollama, openai, root
from app.api.routes import metrics as metrics_route
from app.api.security import AuthMiddleware
from app.backends import registry
from app.core import hardware
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.logging import configure_logging
from app.core.redact import register_roots
from app.services.arena import ArenaService, ArenaStore
from app.services.arena.runs import PromptRunService
from app.services.arena.runs_store import RunStore
from app.services.auth import AuthService
from app.services.batches import BatchService
from app.services.conversations import ConversationService, ConversationStore
from app.services.downloads import DownloadService
from app.services.embeddings import EmbeddingService
from app.services.generation import GenerationService
from app.services.generation.limits import LoginFailureLimiter, RateLimiter
from app.services.generation.shared_limits import RedisAdmission, RedisRateLimiter, check_redis
from app.services.jobs import JobQueue, JobRunner, QueueWorker, build_event_bus, build_runner
from app.services.mcp import AgentLoop, Approvals, McpHub
from app.services.mcp.routing import ToolRouter
from app.services.models.catalog import CatalogService
from app.services.models.manager import ModelManager
from app.services.models.store import ModelStore
from app.services.quantize import QuantizeService
from app.services.rag import RagService
from app.services.responses_store import ResponsesStore
from app.version import __version__
from app.web import mount_frontend

log = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def _queue_worker(
    settings: Settings, queue: JobQueue | None, runner: JobRunner, role: str
) -> QueueWorker | None:
    """The worker of queued jobs in this process: always for ``playground worker``, and for
    ``serve`` with Redis unless ``--no-worker`` (MP_SERVE_WORKER=false); never for
    ``playground mcp``."""
    if queue is None or role == "mcp" or (role != "worker" and not settings.serve_worker):
        return None
    return QueueWorker(settings, queue, runner)


def create_app(settings: Settings | None = None, role: str = "server") -> FastAPI:
    """The app. ``role="worker"`` (``playground worker``) builds the same services to run
    queued jobs with; it serves no HTTP. ``role="mcp"`` (``playground mcp``, stdio) builds them
    for the MCP tools of one host beside a server that may be running on the same folders, so
    it leaves the jobs that server is running (or that a restart interrupted) alone."""
    mcp_server: MCPServer[Any] | None = None
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    register_roots(settings.models_dir, settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = ModelStore(settings.models_dir)
        manager = ModelManager(settings, store)
        app.state.settings = settings
        app.state.model_store = store
        app.state.model_manager = manager
        app.state.generation = GenerationService(settings, manager)
        if getattr(app.state, "db", None) is None:
            app.state.db = Database(settings.metadata_database_url)
        # Reliability and security: keys and sessions, per-identity request rate.
        app.state.auth = AuthService(settings, app.state.db)
        if settings.redis_url:
            # Limits shared by every replica; an unreachable Redis stops the start-up here.
            await check_redis(settings.redis_url)
            app.state.rate_limiter = RedisRateLimiter(
                settings.redis_url, settings.rate_limit_per_minute
            )
            app.state.generation.admission = RedisAdmission(settings, settings.redis_url)
        else:
            app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        # Background jobs: in this process by default; on the Redis queue (arq) with Redis.
        app.state.events = build_event_bus(settings.redis_url)
        queue = await JobQueue.connect(settings) if settings.redis_url else None
        app.state.job_queue = queue
        # Every service with background work registers its job kind with this one runner.
        runner = build_runner(queue, app.state.events)
        app.state.jobs = runner
        # Facts that take blocking work (a vLLM probe runs a child interpreter; the CUDA probe
        # imports torch): backend availability once now, the GPU probe in the background.
        await asyncio.to_thread(registry.warm_up)
        probe = asyncio.create_task(asyncio.to_thread(hardware.cuda_device_count))
        app.state.login_failures = LoginFailureLimiter(settings.login_failures_per_minute)
        # Model manager: keep-alive task, and downloads (resumes jobs a restart interrupted).
        manager.start()
        app.state.downloads = DownloadService(
            settings,
            app.state.db,
            on_model_added=store.invalidate,
            runner=runner,
        )
        app.state.quantize = QuantizeService(
            settings, app.state.db, store, manager=manager, runner=runner
        )
        app.state.catalog = CatalogService(settings, store, app.state.downloads)
        app.state.responses_store = ResponsesStore(app.state.db)
        app.state.rag = RagService(settings, app.state.db, app.state.generation, runner=runner)
        await app.state.rag.start(alone=role != "mcp")
        app.state.embeddings = EmbeddingService(settings, manager, app.state.rag.embedders)
        app.state.mcp = McpHub(settings)
        router = ToolRouter(app.state.embeddings, manager, settings, settings.rag_embedding_model)
        app.state.agent = AgentLoop(
            app.state.generation, app.state.mcp, Approvals(), settings, router
        )
        app.state.conversations = ConversationService(
            ConversationStore(app.state.db),
            app.state.generation,
            settings.conversation_resume_s,
            agent=app.state.agent,
        )
        app.state.arena = ArenaService(
            ArenaStore(app.state.db), app.state.generation, min_votes=settings.arena_min_votes
        )
        app.state.batches = BatchService(
            settings, app.state.db, app.state.generation, make_dispatcher(app), runner=runner
        )
        # Prompt-set runs ride on the batch runner: registered before it starts, so the runs
        # a restart interrupted resume; their thumbs feed the arena leaderboard.
        app.state.prompt_runs = PromptRunService(
            settings, RunStore(app.state.db), app.state.batches, app.state.generation, store
        )
        app.state.arena.add_source(app.state.prompt_runs.vote_source())
        # Every kind is registered: resume what a restart interrupted (in-process), or take
        # queued jobs (a worker).
        await runner.start(resume=role != "mcp")
        worker = _queue_worker(settings, queue, runner, role)
        if worker is not None:
            await worker.start()
        if settings.preload_default_model and (default := await manager.default_model_id_async()):
            await manager.get(default, reserve=False)
        if role != "server":
            log.info("Mistral Playground %s %s (no HTTP)", __version__, role)
        else:
            log.info(
                "Mistral Playground %s on http://%s:%d", __version__, settings.host, settings.port
            )
        try:
            async with AsyncExitStack() as sessions:
                if mcp_server is not None:  # /mcp: its requests run in the manager's tasks
                    await sessions.enter_async_context(serving(mcp_server))
                yield
        finally:
            # Streams first (their engines stop within a step), then the stores and models;
            # a step that fails must not keep the later ones from saving their state.
            app.state.generation.shutdown()
            probe.cancel()
            steps = (
                app.state.conversations.shutdown,  # saves the answers being written
                *([worker.stop_picking] if worker else []),
                app.state.generation.admission.close,
                runner.shutdown,  # jobs stop at their next step; their rows stay active
                app.state.rag.shutdown,
                app.state.downloads.shutdown,
                app.state.mcp.shutdown,  # stdio MCP servers' processes stop
                *([worker.close] if worker else []),
                *([queue.close] if queue else []),
                app.state.events.close,
                manager.shutdown,
            )
            for step in steps:
                try:
                    await step()
                except Exception:
                    log.exception("shutdown step %s failed", step.__qualname__)

    app = FastAPI(
        title="Mistral Playground",
        version=__version__,
        description="Local LLM playground and inference server: native API under /api/v1, "
        "OpenAI-compatible API under /v1.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    # Order matters (the last added runs first): request id/logs/metrics see every request,
    # CORS headers go on 401/413/429 answers too, auth runs before any body is read, and
    # bodies are relabelled JSON only after the browser guard judged their original label.
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=max(
            settings.rag_max_file_bytes * settings.rag_max_files_per_upload,
            settings.files_max_bytes,
        )
        + 1024 * 1024,
    )
    app.add_middleware(AuthMiddleware)
    # Host (DNS rebinding) and cross-site checks, inside CORS so refusals carry its headers.
    app.add_middleware(
        BrowserGuardMiddleware,
        allowed_hosts=settings.allowed_hosts,
        bind_host=settings.host,
        cors_origins=settings.cors_origins,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    app.include_router(native)
    app.include_router(openai)
    app.include_router(ollama)
    app.include_router(root)
    app.include_router(metrics_route.router)
    if settings.mcp_server_enabled and role == "server":
        mcp_server = mount_mcp(app, settings)
    install_openapi(app)
    mount_frontend(app, settings.frontend_dist)
    return app
