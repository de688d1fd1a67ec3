"""Reads request bodies as JSON whatever their Content-Type says, on the compatibility APIs.

Ollama ignores the header: its own documentation sends bodies with ``curl -d`` (which labels
them ``application/x-www-form-urlencoded``), and clients written against it (litellm's
``ollama/`` and ``ollama_chat/`` providers) send none at all. llama.cpp's server does the same
on its OpenAI routes. FastAPI parses a body as JSON only when the header says JSON, so this
middleware relabels such bodies ``application/json`` before routing, for every path outside the
native API (``/api/v1``, whose clients, the UI first, always label their JSON and keep FastAPI's
strict check as a second line against cross-site requests). Multipart bodies (uploads) and
bodies already labelled JSON pass untouched.

It runs inside :class:`~app.api.browser_guard.BrowserGuardMiddleware`, which decides on the
original header whether a request may be a cross-site form post from a web page.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.ollama.common import is_native_path

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON = (b"content-type", b"application/json")


def reads_any_body_as_json(path: str) -> bool:
    """Whether a body sent to ``path`` is JSON whatever its label (every path but /api/v1)."""
    return not is_native_path(path)


def _keeps_label(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    json = media == b"application/json" or media.endswith(b"+json")
    return json or media.startswith(b"multipart/")


class JsonBodyMiddleware:
    """Relabels request bodies as ``application/json`` where :func:`reads_any_body_as_json`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _BODY_METHODS
            and reads_any_body_as_json(scope["path"])
        ):
            headers = scope["headers"]
            label = next((v for k, v in headers if k == b"content-type"), None)
            if label is None or not _keeps_label(label):
                others = [(k, v) for k, v in headers if k != b"content-type"]
                scope = {**scope, "headers": [*others, _JSON]}
        await self.app(scope, receive, send)
