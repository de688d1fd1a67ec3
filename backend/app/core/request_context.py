"""Per-request values visible to any code a request runs (logs, limits) without passing them.

The middleware sets them at the start of each request; asyncio copies context into tasks the
request starts (SSE senders, to_thread workers), so they follow the work.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# Whom limits are counted against: "key:<id>" when authenticated, else "ip:<address>".
identity_var: ContextVar[str | None] = ContextVar("identity", default=None)

# Incoming ids are echoed in headers and logs: accept only short, plain tokens.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(incoming: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh one."""
    if incoming and _VALID_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


def current_identity() -> str | None:
    return identity_var.get()
