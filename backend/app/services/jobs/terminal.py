"""One job run in this process by a CLI command (``playground pull``, ``playground quantize``):
the job's service is the server's, only its progress is shown in the terminal instead of SSE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from rich.console import Console

from app.core.errors import AppError
from app.services.jobs.service import InfoT, JobService

POLL_S = 0.2


def run_command(main: Coroutine[Any, Any, int], console: Console) -> int:
    """The command's exit code; a typed error (a bad request, a missing model) is printed and
    exits 1."""
    try:
        return asyncio.run(main)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        return 1


async def watch(
    service: JobService[Any, InfoT], job_id: str, seen: Callable[[InfoT], None]
) -> InfoT:
    """Poll the job until it ends, showing each state to ``seen``; Ctrl-C cancels the job.
    Its last state."""
    view = service.info(service.get(job_id))
    try:
        while not service.ended(view):
            await asyncio.sleep(POLL_S)
            view = service.info(service.get(job_id))
            seen(view)
    except (KeyboardInterrupt, asyncio.CancelledError):
        view = await service.cancel(job_id)
    return view


def exit_code(console: Console, status: str, error: str | None, cancelled: str) -> int:
    """The exit code of a job that did not complete: 130 when cancelled (``cancelled`` says
    what became of its files), 1 when it failed."""
    if status == "cancelled":
        console.print(cancelled)
        return 130
    console.print(f"[red]failed:[/red] {error}")
    return 1
