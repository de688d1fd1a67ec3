"""``playground quantize``: one quantization job run in this process, printing its progress.

It is the server's code path (``QuantizeService``, same database and models folder, the same
child processes), only the job is watched here instead of over SSE. Ctrl-C cancels it and
removes its partial file.
"""

from __future__ import annotations

import asyncio

from rich.console import Console

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError
from app.schemas.quantize import QuantizationInfo
from app.services.models.store import ModelStore
from app.services.quantize.service import QuantizeService


def run_quantize(
    settings: Settings, model: str, types: list[str], console: Console | None = None
) -> int:
    """Quantize and return an exit code (0: every output written)."""
    console = console or Console()
    try:
        return asyncio.run(_quantize(settings, model, types, console))
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        return 1


def _line(job: QuantizationInfo) -> str:
    if job.stage == "converting":
        step = "converting to an f16 GGUF"
    elif job.stage == "quantizing" and job.current < job.total:
        name = job.outputs[job.current].type
        step = f"quantizing {name} ({job.current + 1} of {job.total})"
    else:
        step = job.stage
    written = f", {job.bytes_written:,} bytes written" if job.bytes_written else ""
    return f"{step}{written}"


async def _quantize(settings: Settings, model: str, types: list[str], console: Console) -> int:
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    store = ModelStore(settings.models_dir)
    service = QuantizeService(settings, Database(settings.metadata_database_url), store)
    await service.start()
    try:
        job = await service.create(model, types)
        names = ", ".join(o.model_id for o in job.outputs)
        console.print(f"quantizing [bold]{job.model}[/bold] -> {names}")
        if job.warning:
            console.print(f"[yellow]warning:[/yellow] {job.warning}")
        last = ""
        try:
            while job.status not in ("completed", "failed", "cancelled"):
                await asyncio.sleep(0.2)
                job = service.info(service.get(job.id))
                line = _line(job)
                if line != last and job.status == "running":
                    console.print(line)
                    last = line
        except (KeyboardInterrupt, asyncio.CancelledError):
            job = await service.cancel(job.id)
        if job.status == "completed":
            for out in job.outputs:
                console.print(
                    f"[green]ready:[/green] {out.model_id} ({out.size_bytes:,} bytes, "
                    f"{out.bits_per_weight:.2f} bits/weight)"
                )
            return 0
        if job.status == "cancelled":
            console.print("cancelled; the partial file was removed")
            return 130
        console.print(f"[red]failed:[/red] {job.error}")
        return 1
    finally:
        await service.shutdown()
