"""Health and machine facts: ``/api/v1/health``, ``/api/v1/system``."""

from __future__ import annotations

import asyncio
import platform
import sys
from dataclasses import asdict

from fastapi import APIRouter, Request

from app.api.deps import SettingsDep
from app.backends.registry import BACKENDS, availability, capabilities
from app.core import hardware
from app.core.config import Settings
from app.schemas.system import BackendCapabilities, BackendStatus, GpuInfo, Health, SystemInfo
from app.version import __version__

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: answers as soon as the server runs."""
    return Health(status="ok", version=__version__)


@router.get("/system", response_model=SystemInfo)
async def system_info(request: Request, settings: SettingsDep) -> SystemInfo:
    """CPU, GPU, memory, and which backends are installed (and why others are not), with
    what each can do. The folders are shown when auth is off or to an admin key: paths are
    nobody else's business."""
    principal = getattr(request.state, "principal", None)
    show_paths = not settings.auth_enabled or bool(principal and principal.admin)
    # Blocking facts (GPU probe, engine imports for capabilities): a worker thread.
    return await asyncio.to_thread(_system_info, settings, show_paths)


def _system_info(settings: Settings, show_paths: bool) -> SystemInfo:
    memory = hardware.memory_info()
    threads = None
    if "torch" in sys.modules:
        threads = sys.modules["torch"].get_num_threads()
    backends = []
    for name in BACKENDS:
        info = availability(name)
        caps = capabilities(name)
        backends.append(
            BackendStatus(
                name=info.name,
                available=info.available,
                reason=info.reason,
                formats=list(info.formats),
                description=info.description,
                capabilities=None if caps is None else BackendCapabilities(**asdict(caps)),
            )
        )
    return SystemInfo(
        version=__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        cpu_model=hardware.cpu_model(),
        cpu_cores=hardware.physical_cores(),
        cpu_bf16=hardware.cpu_supports_bf16(),
        memory_total_bytes=memory["total_bytes"],
        memory_available_bytes=memory["available_bytes"],
        gpus=[GpuInfo(**gpu) for gpu in hardware.cuda_devices()],
        torch_threads=threads,
        backends=backends,
        default_backend=settings.default_backend,
        models_dir=str(settings.models_dir) if show_paths else None,
        data_dir=str(settings.data_dir) if show_paths else None,
    )
