"""Ollama's model listings: ``/api/tags`` entries and ``/api/show`` in Ollama's shapes, from
the facts the services read off model files."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from app.api.ollama.translate import rfc3339
from app.schemas.ollama import OllamaDetails, OllamaModelEntry, OllamaShowResponse
from app.services.models.inspection import chat_template_text, inspect_model, model_family
from app.services.models.store import LocalModel


def _modified(local: LocalModel) -> float:
    try:
        return local.path.stat().st_mtime
    except OSError:
        return time.time()


def digest(local: LocalModel) -> str:
    identity = f"{local.path.resolve()}:{local.size_bytes}:{_modified(local)}"
    return hashlib.sha256(identity.encode()).hexdigest()


def _size_label(parameters: int | None) -> str:
    if not parameters:
        return "unknown"
    if parameters >= 1e9:
        return f"{parameters / 1e9:.1f}B"
    return f"{parameters / 1e6:.0f}M" if parameters >= 1e6 else f"{parameters / 1e3:.0f}K"


def details(local: LocalModel) -> OllamaDetails:
    facts = inspect_model(local.path, local.format)
    family = model_family(local.path, local.format)
    return OllamaDetails(
        format="gguf" if local.format == "gguf" else "safetensors",
        family=family,
        families=[family],
        parameter_size=_size_label(facts.parameters),
        quantization_level=(facts.quantization or "unknown").upper(),
    )


def model_entry(local: LocalModel, **extra: Any) -> OllamaModelEntry:
    return OllamaModelEntry(
        name=local.id,
        model=local.id,
        modified_at=rfc3339(_modified(local)),
        size=local.size_bytes,
        digest=digest(local),
        details=details(local),
        **extra,
    )


def show(
    local: LocalModel, context_length: int | None, embeddings: bool, generates: bool = True
) -> OllamaShowResponse:
    """``/api/show`` of ``local``; ``generates`` False for a model that only embeds."""
    info = details(local)
    model_info: dict[str, Any] = {"general.architecture": info.family}
    if context_length:
        model_info[f"{info.family}.context_length"] = context_length
    facts = inspect_model(local.path, local.format)
    if facts.parameters:
        model_info["general.parameter_count"] = facts.parameters
    # Local models run on transformers or llamacpp, which both call tools (docs/tools.md).
    capabilities = (["completion", "tools"] if generates else []) + (
        ["embedding"] if embeddings else []
    )
    return OllamaShowResponse(
        # The model's id, not its absolute path: file system layout is not the client's business.
        modelfile=f"# Served by Mistral Playground\nFROM {local.id}\n",
        parameters="",
        template=chat_template_text(local.path, local.format),
        details=info,
        model_info=model_info,
        capabilities=capabilities,
        modified_at=rfc3339(_modified(local)),
    )
