"""Translation between Ollama's API and ours: model listings and details, options to sampling
parameters, outcomes to Ollama's final stream object. The routes in ``api/ollama`` stay thin."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from app.schemas.ollama import (
    FormatValue,
    OllamaDetails,
    OllamaModelEntry,
    OllamaOptions,
    OllamaShowResponse,
)
from app.services.generation import GenerationOutcome, ParamsInput
from app.services.models.inspection import inspect_model
from app.services.models.store import LocalModel

# Ollama's defaults for options a request leaves out.
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_K = 40
DEFAULT_TOP_P = 0.9
DEFAULT_REPEAT_PENALTY = 1.1


def model_id(name: str) -> str:
    """Our model id for an Ollama-style name: Ollama clients add ':latest' to bare names."""
    return name.removesuffix(":latest")


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def now_rfc3339() -> str:
    return rfc3339(time.time())


def params_from(options: OllamaOptions | None, fmt: FormatValue) -> ParamsInput:
    o = options or OllamaOptions()
    max_tokens = o.num_predict if o.num_predict is not None and o.num_predict > 0 else None
    return ParamsInput.from_request(
        o,
        max_tokens=max_tokens,
        temperature=DEFAULT_TEMPERATURE if o.temperature is None else o.temperature,
        top_p=DEFAULT_TOP_P if o.top_p is None else o.top_p,
        top_k=DEFAULT_TOP_K if o.top_k is None else o.top_k,
        repetition_penalty=DEFAULT_REPEAT_PENALTY if o.repeat_penalty is None else o.repeat_penalty,
        stop=list(o.stop or []),
        json_schema=schema_text(fmt),
    )


def schema_text(fmt: FormatValue) -> str | None:
    """Ollama's ``format``: 'json' is any JSON object, a dict is a JSON schema."""
    if fmt in (None, ""):
        return None
    if fmt == "json":
        return json.dumps({"type": "object"})
    return json.dumps(fmt)


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


def _family(local: LocalModel) -> str:
    if local.format == "gguf":
        from app.backends.gguf_info import read_gguf

        try:
            return str(read_gguf(local.path).get("architecture") or "unknown")
        except Exception:  # a damaged header must not fail a listing
            return "unknown"
    if local.format == "hf":
        try:
            return str(json.loads((local.path / "config.json").read_text()).get("model_type"))
        except (OSError, ValueError):
            return "unknown"
    return local.format


def details(local: LocalModel) -> OllamaDetails:
    facts = inspect_model(local.path, local.format)
    family = _family(local)
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


def _template(local: LocalModel) -> str:
    if local.format == "gguf":
        from app.backends.gguf_info import read_gguf

        try:
            return str(read_gguf(local.path).get("chat_template") or "")
        except Exception:  # a damaged header must not fail /api/show
            return ""
    jinja = local.path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    try:
        config = json.loads((local.path / "tokenizer_config.json").read_text())
        return str(config.get("chat_template") or "")
    except (OSError, ValueError):
        return ""


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
        template=_template(local),
        details=info,
        model_info=model_info,
        capabilities=capabilities,
        modified_at=rfc3339(_modified(local)),
    )


def final_fields(outcome: GenerationOutcome) -> dict[str, Any]:
    """Ollama's closing statistics (durations in nanoseconds)."""
    usage, timings = outcome.usage(), outcome.timings()
    ms = 1_000_000
    ttft = timings.ttft_ms or timings.total_ms
    reason = {"length": "length", "stop": "stop"}.get(outcome.finish_reason or "", "stop")
    return {
        "done": True,
        "done_reason": reason,
        "total_duration": int(timings.total_ms * ms),
        "load_duration": int(timings.load_ms * ms),
        "prompt_eval_count": usage.prompt_tokens,
        "prompt_eval_duration": int(max(ttft - timings.load_ms, 0) * ms),
        "eval_count": usage.completion_tokens,
        "eval_duration": int(max(timings.total_ms - ttft, 0) * ms),
        "backend": timings.backend,
        "backend_reason": timings.backend_reason,
    }
