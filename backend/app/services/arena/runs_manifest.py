"""The manifest of a prompt-set run: what each model's files hash to, which backend serves it,
and the parameters and seed, so a run can be made again and checked to be the same."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from app.backends import registry
from app.core.errors import BackendUnavailable
from app.schemas.compare import CompareTarget
from app.schemas.prompt_runs import ManifestModel, PromptRow, RunManifest, RunParameters
from app.services.models.store import LocalModel, ModelStore
from app.version import __version__

_CHUNK = 1 << 20


def column_label(target: CompareTarget) -> str:
    """The name a column goes by (the arena's convention): the model, or 'model@backend'."""
    return target.model if target.backend is None else f"{target.model}@{target.backend}"


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def files_sha256(path: Path) -> str:
    """SHA-256 of a model file, or of a folder: each file's relative path, a NUL, its bytes."""
    digest = hashlib.sha256()
    root = path if path.is_dir() else path.parent
    for file in _files(path):
        if path.is_dir():
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def rows_sha256(rows: list[PromptRow]) -> str:
    canonical = json.dumps([r.model_dump(mode="json") for r in rows], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class DigestCache:
    """File digests by (path, size, mtime): a model is hashed once until its files change."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, float], str] = {}
        self._lock = threading.Lock()

    def sha256(self, local: LocalModel) -> str | None:
        if local.format in ("ollama", "remote") or not local.path.exists():
            return None
        path = local.path.resolve()
        stat = path.stat()
        key = (str(path), local.size_bytes, stat.st_mtime)
        with self._lock:
            if key in self._known:
                return self._known[key]
        value = files_sha256(path)
        with self._lock:
            self._known[key] = value
        return value


def build_manifest(
    store: ModelStore,
    digests: DigestCache,
    columns: list[CompareTarget],
    params: RunParameters,
    rows: list[PromptRow],
    rerun_of: RunManifest | None = None,
    rerun_id: str | None = None,
) -> RunManifest:
    """The manifest of a new run (blocking: hashes files; call it in a thread). An unknown
    model (404) or a backend that cannot serve its format (400) is refused here, before
    anything is queued."""
    models: list[ManifestModel] = []
    for i, target in enumerate(columns):
        local = store.resolve(target.model)
        # A re-run is pinned to the backends the original run chose.
        requested = rerun_of.models[i].backend if rerun_of is not None else target.backend
        try:
            backend: str | None = registry.choose_backend(local.format, requested)[0]
        except BackendUnavailable:  # not installed here: its cells fail and say why
            backend = requested
        models.append(
            ManifestModel(
                label=column_label(target),
                model=target.model,
                backend=backend,
                format=local.format,
                size_bytes=local.size_bytes,
                sha256=digests.sha256(local),
            )
        )
    changed: list[str] = []
    if rerun_of is not None:
        changed = [
            m.label
            for m, old in zip(models, rerun_of.models, strict=True)
            if (m.sha256, m.backend) != (old.sha256, old.backend)
        ]
    assert params.seed is not None
    return RunManifest(
        models=models,
        params=params,
        seed=params.seed,
        rows_sha256=rows_sha256(rows),
        app_version=__version__,
        created_at=time.time(),
        rerun_of=rerun_id,
        changed_models=changed,
    )
