"""Local models: what is in the models folder (HF folders and .gguf files) and what the Hugging
Face cache already holds. Resolves a model id to files; never downloads."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backends.base import ModelFormat, ModelSource
from app.core.errors import InvalidRequest, ModelNotFound
from app.services.models.bundled import DESCRIPTION as BUNDLED_DESCRIPTION
from app.services.models.bundled import is_bundled
from app.services.models.validation import quick_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalModel:
    """A model whose files are on this machine."""

    id: str
    path: Path
    format: ModelFormat
    size_bytes: int
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def source(self) -> ModelSource:
        return ModelSource(self.id, self.path, self.format, dict(self.extra))


def resolve_prefixed(model_id: str) -> LocalModel | None:
    """Models served by another server, named explicitly: ``ollama:NAME`` (an Ollama server)
    and ``remote:ENDPOINT/MODEL`` (a configured OpenAI-compatible endpoint). None otherwise."""
    if model_id.startswith("ollama:"):
        name = model_id.removeprefix("ollama:")
        if not name:
            raise InvalidRequest("Give the Ollama model after 'ollama:'.", param="model")
        return LocalModel(model_id, Path(), "ollama", 0, extra={"name": name})
    if model_id.startswith("remote:"):
        endpoint, _, name = model_id.removeprefix("remote:").partition("/")
        if not endpoint or not name:
            raise InvalidRequest(
                "Name remote models 'remote:ENDPOINT/MODEL' (ENDPOINT from MP_REMOTE_ENDPOINTS).",
                param="model",
            )
        return LocalModel(model_id, Path(), "remote", 0, extra={"endpoint": endpoint, "name": name})
    return None


def folder_size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# First words of the README that `playground make-test-models` writes into its demo model.
DEMO_PREFIX = "Demo model built by `playground make-test-models`"


def is_demo(model: LocalModel) -> bool:
    """A model the project built for tests and first looks, not a real one."""
    return (model.description or "").startswith(DEMO_PREFIX)


def _describe(folder: Path) -> str | None:
    readme = folder / "README.md"
    if not readme.is_file():
        return None
    for line in readme.read_text(errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


def is_hf_folder(path: Path) -> bool:
    """An HF-format model folder: a config.json beside weights."""
    if not (path / "config.json").is_file():
        return False
    return any(path.glob("*.safetensors")) or any(path.glob("*.bin"))


# What the cached scan was made from: (name, mtime_ns, size) of every top-level entry.
_Signature = tuple[tuple[str, int, int], ...]


class ModelStore:
    """Scans ``models_dir``; ids are folder names and .gguf file names.

    The full scan (reading every file's size) is cached: the UI polls the model lists every few
    seconds and a folder of many models makes each scan cost tens of milliseconds. A cheap
    check (one stat per top-level entry: adding, renaming or removing a file inside a folder
    changes that folder's mtime) decides whether the cache still holds; downloads and deletes
    also :meth:`invalidate` it. A file rewritten in place deep in a folder keeps the old size
    until the next invalidation."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._cached: tuple[_Signature, list[LocalModel]] | None = None
        self._lock = threading.Lock()  # one full scan at a time; others wait and reuse it
        # Entries of the last scan that look like models but are damaged: id -> problem. They
        # are left out of every listing (one bad file must not fail them) and reported here.
        self.invalid: dict[str, str] = {}

    def invalidate(self) -> None:
        """Forget the cached scan (a model was added or removed)."""
        self._cached = None

    def _signature(self) -> _Signature | None:
        try:
            with os.scandir(self.models_dir) as entries:
                stats = [(e.name, e.stat()) for e in entries if not e.name.startswith(".")]
        except OSError:
            return None
        return tuple(sorted((name, st.st_mtime_ns, st.st_size) for name, st in stats))

    def scan(self) -> list[LocalModel]:
        """The models in the folder, from the cache when nothing changed since the last scan.
        Blocking on a cache miss: async callers use :meth:`scan_async`."""
        signature = self._signature()
        cached = self._cached
        if cached is not None and signature is not None and cached[0] == signature:
            return list(cached[1])
        with self._lock:
            cached = self._cached
            if cached is not None and signature is not None and cached[0] == signature:
                return list(cached[1])
            found = self._scan()
            if signature is not None:
                self._cached = (signature, found)
            return list(found)

    async def scan_async(self) -> list[LocalModel]:
        """:meth:`scan` without blocking the event loop (a miss reads every file's size)."""
        cached = self._cached
        if cached is not None and cached[0] == self._signature():
            return list(cached[1])
        return await asyncio.to_thread(self.scan)

    def _scan(self) -> list[LocalModel]:
        if not self.models_dir.is_dir():
            return []
        found: list[LocalModel] = []
        invalid: dict[str, str] = {}
        for entry in sorted(self.models_dir.iterdir()):
            if entry.name.startswith("."):
                continue  # staging folders of builds and downloads in progress
            if entry.is_dir() and is_hf_folder(entry):
                model = LocalModel(entry.name, entry, "hf", folder_size(entry), _describe(entry))
            elif entry.is_file() and entry.suffix == ".gguf":
                # A GGUF file has no README; the bundled one gets its description here.
                note = BUNDLED_DESCRIPTION if is_bundled(entry.name) else None
                model = LocalModel(entry.name, entry, "gguf", entry.stat().st_size, note)
            else:
                continue
            if (problem := quick_problem(entry, model.format)) is not None:
                invalid[entry.name] = problem
                continue
            found.append(model)
        if invalid != self.invalid:
            for name in invalid.keys() - self.invalid.keys():
                log.warning("skipping models/%s: %s", name, invalid[name])
        self.invalid = invalid
        return found

    def resolve(self, model_id: str) -> LocalModel:
        """The local model named ``model_id``: a models-folder entry, or an HF repo id already in
        the local HF cache. Raises :class:`ModelNotFound` otherwise."""
        if not model_id or "\x00" in model_id:
            raise InvalidRequest("Model id is empty or invalid.", param="model")
        prefixed = resolve_prefixed(model_id)
        if prefixed is not None:
            return prefixed
        for model in self.scan():
            if model.id == model_id:
                return model
        if model_id in self.invalid:
            raise InvalidRequest(
                f"models/{model_id} is not a usable model: {self.invalid[model_id]}. Replace "
                "or delete the file.",
                param="model",
                code="invalid_model_file",
            )
        if "/" in model_id and ".." not in model_id.split("/"):
            cached = from_hf_cache(model_id)
            if cached is not None:
                return cached
        raise ModelNotFound(model_id)


def from_hf_cache(repo_id: str) -> LocalModel | None:
    """The HF folder of ``repo_id`` in the local HF cache (no download), or None."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, OSError, ValueError):
        return None
    if not is_hf_folder(folder):
        return None
    return LocalModel(repo_id, folder, "hf", folder_size(folder), _describe(folder))


def read_context_length(model: LocalModel) -> int | None:
    """Context window without loading the model: an HF folder's ``config.json`` or a GGUF
    header (None when unknown or unreadable)."""
    if model.format == "gguf":
        from app.backends.gguf_info import read_gguf

        try:
            value = read_gguf(model.path).get("context_length")
        except Exception:  # damaged metadata past the header the scan checks
            return None
        return int(value) if isinstance(value, int) else None
    if model.format != "hf":
        return None
    try:
        config = json.loads((model.path / "config.json").read_text())
    except (OSError, ValueError):
        return None
    value = config.get("max_position_embeddings")
    return int(value) if isinstance(value, int) else None
