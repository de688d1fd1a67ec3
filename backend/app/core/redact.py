"""Keeps secrets and file-system layout out of what clients see: passwords in URLs become
``***`` and absolute paths under the models or data folder become ``models/...``/``data/...``.

Error messages are rendered in many places (exception handlers, middleware, the last event of a
stream, download job rows), so :class:`~app.core.errors.AppError` applies :func:`redact` when
it builds its body; the folders are registered once by ``create_app`` (a process has one
configuration), which is why they live in a module-level table rather than on ``app.state``.
"""

from __future__ import annotations

import re
from pathlib import Path

_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")
_roots: list[tuple[str, str]] = []


def register_roots(models_dir: Path, data_dir: Path) -> None:
    """Folders whose absolute paths are shown relative (longest first, so nesting works)."""
    pairs = {str(models_dir): "models", str(data_dir): "data"}
    for path, name in list(pairs.items()):
        resolved = str(Path(path).resolve())
        pairs.setdefault(resolved, name)
    _roots[:] = sorted(pairs.items(), key=lambda item: -len(item[0]))


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (the user name stays)."""
    return _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", url)


def redact(text: str) -> str:
    """``text`` without URL passwords and with registered folders shown relative."""
    text = redact_url(text)
    for path, name in _roots:
        text = text.replace(path, name)
    return text
