"""What ``/api/v1/system`` reports: the machine (CPU, GPUs, memory), and each backend with
whether it is installed (and why not) and what it can do."""

from __future__ import annotations

import importlib
import platform
import sys
from dataclasses import asdict

from app.backends.registry import BACKENDS, availability, capabilities
from app.core import hardware
from app.core.config import Settings
from app.schemas.system import (
    BackendCapabilities,
    BackendStatus,
    DeploymentInfo,
    GpuInfo,
    SystemInfo,
)
from app.services.jobs.queue import live_workers
from app.version import __version__


def system_info(settings: Settings, show_paths: bool) -> SystemInfo:
    """The report; blocking (the GPU probe, engine imports for capabilities): call it from a
    worker thread. Folders are included only when ``show_paths``."""
    memory = hardware.memory_info()
    threads = None
    if "torch" in sys.modules:
        # The start-up GPU probe may still be importing torch in another thread: importing it
        # here waits for that import to finish, where sys.modules would hand over a
        # half-initialised module.
        threads = importlib.import_module("torch").get_num_threads()
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
        deployment=deployment_info(settings, show_paths),
    )


def deployment_info(settings: Settings, show_paths: bool) -> DeploymentInfo:
    """This server's state and job set-up; asks Redis for the live workers (blocking)."""
    queued = settings.redis_url is not None
    return DeploymentInfo(
        database="postgresql"
        if settings.metadata_database_url.startswith("postgresql")
        else "sqlite",
        redis=queued,
        jobs="queue" if queued else "in-process",
        runs_jobs=not queued or settings.serve_worker,
        workers=live_workers(settings.redis_url) if settings.redis_url else None,
        vector_store="server" if settings.rag_chroma_url else "embedded",
        shared_dir=str(settings.files_root) if show_paths else None,
    )
