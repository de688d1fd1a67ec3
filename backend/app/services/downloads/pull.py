"""``playground pull``: one download job run in this process with a terminal progress bar.

It is the server's code path (``DownloadService``, same database and models folder), only the
job is watched by a rich progress bar instead of SSE. Ctrl-C cancels the job and keeps its
partial files; pulling the same thing again continues from them.
"""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError
from app.schemas.downloads import DownloadRequest
from app.services.downloads.service import DownloadService


def run_pull(settings: Settings, request: DownloadRequest, console: Console | None = None) -> int:
    """Download and return an exit code (0: model ready)."""
    console = console or Console()
    try:
        return asyncio.run(_pull(settings, request, console))
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        return 1


async def _pull(settings: Settings, request: DownloadRequest, console: Console) -> int:
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    service = DownloadService(settings, Database(settings.metadata_database_url))
    await service.start(resume_pending=False)  # the server resumes its own jobs
    try:
        job = await service.create(request)
        console.print(f"pulling [bold]{job.repo_id or job.url}[/bold] -> {job.name}")
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(job.name, total=job.bytes_total, completed=job.bytes_done)
            try:
                while job.status not in ("completed", "failed", "cancelled"):
                    await asyncio.sleep(0.2)
                    job = service.info(service.get(job.id))
                    bar.update(
                        task, completed=job.bytes_done, description=job.current_file or job.name
                    )
            except (KeyboardInterrupt, asyncio.CancelledError):
                job = await service.cancel(job.id)
        if job.status == "completed":
            console.print(f"[green]ready:[/green] {job.model_id} in {settings.models_dir}")
            return 0
        if job.status == "cancelled":
            console.print("cancelled; partial files kept, pull again to continue")
            return 130
        console.print(f"[red]failed:[/red] {job.error}")
        return 1
    finally:
        await service.shutdown()
