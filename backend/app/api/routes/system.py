"""Health and machine facts: ``/api/v1/health``, ``/api/v1/system``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from app.api.deps import SettingsDep
from app.schemas.system import Health, SystemInfo
from app.services.system_info import system_info as read_system_info
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
    return await asyncio.to_thread(read_system_info, settings, show_paths)
