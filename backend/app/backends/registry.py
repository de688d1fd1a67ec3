"""Lazy registry of backends: name -> (module, class), imported only when used.

A CPU install starts without vllm or llama_cpp; asking for a backend whose engine is missing
raises :class:`BackendUnavailable` naming the extra that installs it. Selection by model format
and machine lives in :func:`choose_backend`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from app.backends.base import Backend, ModelFormat
from app.core.errors import BackendUnavailable, InvalidRequest


@dataclass(frozen=True)
class BackendEntry:
    """How to find a backend and what it needs installed."""

    name: str
    module: str
    class_name: str
    requires: tuple[str, ...]  # importable top-level modules the engine needs
    install_hint: str  # what to install when they are missing
    formats: tuple[ModelFormat, ...]
    description: str


BACKENDS: dict[str, BackendEntry] = {
    entry.name: entry
    for entry in (
        BackendEntry(
            name="transformers",
            module="app.backends.hf_transformers",
            class_name="TransformersBackend",
            requires=("torch", "transformers"),
            install_hint="pip install -r requirements-cpu.txt",
            formats=("hf",),
            description="Hugging Face Transformers in-process (CPU or CUDA).",
        ),
    )
}


@dataclass(frozen=True)
class Availability:
    name: str
    available: bool
    reason: str | None
    formats: tuple[ModelFormat, ...]
    description: str


def availability(name: str) -> Availability:
    """Whether the engine behind ``name`` can be imported here, and why not if it cannot."""
    entry = _entry(name)
    missing = [mod for mod in entry.requires if importlib.util.find_spec(mod) is None]
    reason = None
    if missing:
        reason = f"missing Python package(s) {', '.join(missing)}; install with: {entry.install_hint}"
    return Availability(entry.name, not missing, reason, entry.formats, entry.description)


def backend_class(name: str) -> type[Backend]:
    """Import and return the backend class, or raise 503 naming what to install."""
    info = availability(name)
    if not info.available:
        raise BackendUnavailable(f"Backend '{name}' is not installed: {info.reason}.", param="backend")
    entry = _entry(name)
    module = importlib.import_module(entry.module)
    return getattr(module, entry.class_name)


def choose_backend(fmt: ModelFormat, requested: str | None = None) -> tuple[str, str]:
    """Pick the backend for a model format: ``(name, why)``.

    An explicit ``requested`` name wins (and must serve the format); otherwise the first
    installed backend that serves the format, in registry order of preference.
    """
    if requested and requested != "auto":
        entry = _entry(requested)
        if fmt not in entry.formats:
            raise InvalidRequest(
                f"Backend '{requested}' cannot serve {fmt} models "
                f"(it serves: {', '.join(entry.formats)}).",
                param="backend",
            )
        return requested, "requested"
    candidates = [e for e in BACKENDS.values() if fmt in e.formats]
    if not candidates:
        raise BackendUnavailable(f"No backend serves {fmt} models in this build.", param="model")
    reasons = []
    for entry in candidates:
        info = availability(entry.name)
        if info.available:
            why = "auto: first installed backend for " + fmt
            if reasons:
                why += " (skipped " + "; ".join(reasons) + ")"
            return entry.name, why
        reasons.append(f"{entry.name}: {info.reason}")
    raise BackendUnavailable(
        f"No installed backend serves {fmt} models: " + "; ".join(reasons), param="model"
    )


def _entry(name: str) -> BackendEntry:
    try:
        return BACKENDS[name]
    except KeyError:
        raise InvalidRequest(
            f"Unknown backend '{name}'. Known backends: {', '.join(BACKENDS)}.", param="backend"
        ) from None
