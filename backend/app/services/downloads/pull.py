"""``playground pull``: one download job run in this process with a terminal progress bar.

It is the server's code path (``DownloadService``, same database and models folder), only the
job is watched by a rich progress bar instead of SSE. Ctrl-C cancels the job and keeps its
partial files; pulling the same thing again continues from them.
"""

from __future__ import annotations

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
from app.schemas.downloads import DownloadJobInfo, DownloadRequest
from app.services.downloads.service import DownloadService
from app.services.jobs.terminal import exit_code, run_command, watch


def run_pull(settings: Settings, request: DownloadRequest, console: Console | None = None) -> int:
    """Download and return an exit code (0: model ready)."""
    console = console or Console()
    return run_command(_pull(settings, request, console), console)


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

            def seen(view: DownloadJobInfo) -> None:
                description = view.current_file or view.name
                bar.update(task, completed=view.bytes_done, description=description)

            job = await watch(service, job.id, seen)
        if job.status == "completed":
            console.print(f"[green]ready:[/green] {job.model_id} in {settings.models_dir}")
            return 0
        return exit_code(
            console, job.status, job.error, "cancelled; partial files kept, pull again to continue"
        )
    finally:
        await service.shutdown()
