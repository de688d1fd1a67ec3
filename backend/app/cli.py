"""The ``playground`` command: serve the app, build the test models, pull models.

Scripts, the README and tests call these; keep their names and flags stable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Optional

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
    host: Annotated[Optional[str], typer.Option(help="Address to bind (MP_HOST).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (MP_PORT).")] = None,
    model: Annotated[
        Optional[str],
        typer.Option(help="Default model: a folder/file under models/, a path or an HF repo id."),
    ] = None,
    preload: Annotated[
        bool, typer.Option(help="Load the default model before accepting requests.")
    ] = False,
) -> None:
    """Run the API server and the playground UI."""
    import uvicorn

    # Flags become settings through the environment so the app factory sees one source.
    if host:
        os.environ["MP_HOST"] = host
    if port:
        os.environ["MP_PORT"] = str(port)
    if model:
        os.environ["MP_DEFAULT_MODEL"] = model
    if preload:
        os.environ["MP_PRELOAD_DEFAULT_MODEL"] = "true"
    get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # SSE streams must close promptly on shutdown instead of holding the process.
        timeout_graceful_shutdown=5,
    )


@cli.command("make-test-models")
def make_test_models(
    only: Annotated[
        Optional[str], typer.Option(help="Build just one: tiny or bench-0.5b.")
    ] = None,
    models_dir: Annotated[
        Optional[Path], typer.Option(help="Where to write (default: MP_MODELS_DIR).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if present.")] = False,
) -> None:
    """Build the project's own test models (tokenizer trained on local text, LLaMA weights)."""
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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
