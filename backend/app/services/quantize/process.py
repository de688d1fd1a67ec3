"""Running one of llama.cpp's tools as a child process from a job: poll it, report the size of
the file it writes, kill it on a cancel, and turn a failure into the tool's own reason."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from app.services.quantize.child import PARENT_ENV

POLL_S = 0.1  # how often the child, the cancel flag and the output size are looked at


class ToolCancelled(Exception):
    """The job was cancelled, deleted, or its process is stopping: the child was killed."""


class ToolFailed(Exception):
    """The converter or quantizer exited with an error (the message is its reason)."""


async def run_tool(
    command: list[str],
    output: Path,
    cancel: threading.Event,
    on_size: Callable[[int], None],
) -> None:
    """Run ``command`` to its end; ``on_size`` gets each new size of ``output`` while it runs.
    Raises :class:`ToolCancelled` (child killed) or :class:`ToolFailed`."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, PARENT_ENV: str(os.getpid())},
        )
        last = -1
        try:
            while proc.poll() is None:
                if cancel.is_set():
                    raise ToolCancelled()
                await asyncio.sleep(POLL_S)
                with contextlib.suppress(OSError):
                    size = output.stat().st_size
                    if size != last:
                        last = size
                        on_size(size)
        finally:
            if proc.poll() is None:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        if proc.returncode != 0:
            errors.seek(0)
            raise ToolFailed(tool_error(command, proc.returncode, errors.read()))


def tool_error(command: list[str], code: int, stderr: bytes) -> str:
    """The tool's own reason, from the last lines of its output that name one."""
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    reasons = [ln for ln in lines if re.search(r"error|failed|exception", ln, re.I)]
    tool = "llama.cpp's converter" if "convert_hf_to_gguf" in " ".join(command) else "llama.cpp"
    detail = (reasons or lines or ["no output"])[-1][:300]
    return f"{tool} failed (exit {code}): {detail}"
