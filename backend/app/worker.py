"""``playground worker``: runs queued jobs (ingestion, batches, downloads) with no HTTP server.

It builds the same services as the server (``create_app(role="worker")`` and its lifespan), so
a job runs exactly as it would in ``serve``; models and embedders load when a job needs them.
SIGTERM or SIGINT stops it: running jobs stop at their next step and go back to the queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from app.core.config import Settings

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    from app.main import create_app

    app = create_app(settings, role="worker")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.router.lifespan_context(app):
        log.info("worker ready: running queued jobs from %s", _redacted(settings))
        await stop.wait()
        log.info("worker stopping")


def _redacted(settings: Settings) -> str:
    from app.core.redact import redact_url

    return redact_url(settings.redis_url or "")
