"""``playground quantize``: one quantization job run in this process, printing its progress.

It is the server's code path (``QuantizeService``, same database and models folder, the same
child processes), only the job is watched here instead of over SSE. Ctrl-C cancels it and
removes its partial file.
"""

from __future__ import annotations

from rich.console import Console

from app.core.config import Settings
from app.core.db import Database
from app.schemas.quantize import QuantizationInfo
from app.services.jobs.terminal import exit_code, run_command, watch
from app.services.models.store import ModelStore
from app.services.quantize.service import QuantizeService


def run_quantize(
    settings: Settings, model: str, types: list[str], console: Console | None = None
) -> int:
    """Quantize and return an exit code (0: every output written)."""
    console = console or Console()
    return run_command(_quantize(settings, model, types, console), console)


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

        def seen(view: QuantizationInfo) -> None:
            nonlocal last
            line = _line(view)
            if line != last and view.status == "running":
                console.print(line)
                last = line

        job = await watch(service, job.id, seen)
        if job.status == "completed":
            for out in job.outputs:
                console.print(
                    f"[green]ready:[/green] {out.model_id} ({out.size_bytes:,} bytes, "
                    f"{out.bits_per_weight:.2f} bits/weight)"
                )
            return 0
        return exit_code(console, job.status, job.error, "cancelled; the partial file was removed")
    finally:
        await service.shutdown()
