"""The one place that checks a request against what its backend can do.

Every parameter a backend might not honour is listed here with the :class:`Capabilities` field
that allows it. A request asking for something its backend cannot do gets 400 with the reason
before any work starts, instead of a 200 with the feature silently missing (e.g. empty
``logprobs`` from an engine that never computes them).
"""

from __future__ import annotations

from app.backends.base import Capabilities, SamplingParams, ToolUse
from app.core.errors import InvalidRequest


def check_request(
    capabilities: Capabilities,
    backend: str,
    params: SamplingParams,
    tools: ToolUse | None = None,
) -> None:
    """Raise :class:`InvalidRequest` (400) when ``backend`` cannot honour ``params`` or
    ``tools``."""
    if params.logprobs is not None and not capabilities.logprobs:
        raise InvalidRequest(
            f"The {backend} backend does not return logprobs; use a model on transformers or "
            "llamacpp, or leave logprobs off.",
            param="logprobs",
        )
    if params.constraint is not None and not capabilities.json_schema:
        raise InvalidRequest(
            f"The {backend} backend cannot constrain output to a JSON schema; use a model on "
            "transformers or llamacpp (or a remote/ollama model).",
            param=params.constraint.param,
        )
    if tools is not None and tools.choice != "none" and not capabilities.tools:
        raise InvalidRequest(
            f"The {backend} backend cannot call tools; use the transformers, llamacpp, vllm, "
            "ollama or remote backend.",
            param="tools",
        )


def check_embeddings(capabilities: Capabilities, backend: str, model_id: str) -> None:
    """Raise 400 when the model's backend serves no embeddings."""
    if not capabilities.embeddings:
        raise InvalidRequest(
            f"'{model_id}' runs on {backend}, which does not make embeddings; use a GGUF model "
            "(llamacpp), an ollama: model or a sentence-transformers model.",
            param="model",
        )
