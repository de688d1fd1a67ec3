"""Server log format: one JSON object per line (default) or plain text, each record carrying
the id of the request it belongs to (``request_id``; also sent as the ``X-Request-ID`` header)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from app.core.redact import redact_url
from app.core.request_context import current_request_id


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        # Libraries (httpx logs every URL it fetches) must not write URL passwords to the log.
        message = record.getMessage()
        if "@" in message:
            cleaned = redact_url(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, fmt: str = "json") -> None:
    """Route every logger (app, uvicorn, libraries) through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("app").setLevel(level.upper())
    # Uvicorn's own handlers would print a second, unstructured copy; its access log is
    # replaced by the request middleware's, which knows the route and request id.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
