"""The backend protocol. The internal types every engine speaks are defined in ``types.py``
(imported by the API without the engine layer) and exported here as well.

Backends never see HTTP schemas: the serving layer (``services/generation/``) translates native
and OpenAI requests into one :class:`GenerationRequest` and consumes :class:`TokenEvent` items.
Engines are synchronous; the serving layer runs :meth:`Backend.stream` in a worker thread and
cancels it through the :class:`threading.Event` it passes in. A backend must check that event
at least once per decode step and stop producing tokens once it is set.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from app.backends.generation_defaults import SamplingDefaults
from app.backends.types import (
    Capabilities,
    ChatEnding,
    ChatMessage,
    Constraint,
    FinishReason,
    GenerationRequest,
    ModelFormat,
    ModelSource,
    Role,
    SamplingParams,
    TokenEvent,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    ToolUse,
)

if TYPE_CHECKING:
    from app.backends.http.replicas import ReplicaState
    from app.core.config import Settings

# The value types are defined in app.backends.types; engines and services import them from
# here too.
__all__ = [
    "Backend",
    "BackendStats",
    "Capabilities",
    "ChatEnding",
    "ChatMessage",
    "Constraint",
    "FinishReason",
    "GenerationRequest",
    "ModelFormat",
    "ModelSource",
    "Role",
    "SamplingParams",
    "TokenEvent",
    "TokenLogprob",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "ToolUse",
    "check_token_ids",
]


@dataclass
class BackendStats:
    """Counters kept by every backend instance; visible in GET /api/v1/models/loaded."""

    tokens_generated: int = 0
    requests_total: int = 0
    active_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_tokens(self, n: int = 1) -> None:
        with self.lock:
            self.tokens_generated += n

    def started(self) -> None:
        with self.lock:
            self.requests_total += 1
            self.active_requests += 1

    def finished(self) -> None:
        with self.lock:
            self.active_requests -= 1


def check_token_ids(token_ids: list[int], vocab_size: int) -> None:
    """Refuse ids outside the vocabulary (engines index tables with them) with a 400."""
    bad = next((t for t in token_ids if not 0 <= t < vocab_size), None)
    if bad is not None:
        from app.core.errors import InvalidRequest

        raise InvalidRequest(
            f"Token id {bad} is outside this model's vocabulary (0-{vocab_size - 1}).",
            param="tokens",
        )


class Backend(ABC):
    """A model loaded on one engine.

    Subclasses declare ``name`` (registry key), ``extra`` (the pip extra or requirements file that
    installs the engine) and ``capabilities``. The registry instantiates them with the
    :class:`ModelSource` and settings, then calls :meth:`load` in a worker thread.
    """

    name: ClassVar[str]
    extra: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, source: ModelSource, settings: Settings) -> None:
        self.source = source
        self.settings = settings
        self.stats = BackendStats()

    # --- lifecycle -----------------------------------------------------------------------------
    @abstractmethod
    def load(self) -> None:
        """Load weights and tokenizer. Blocking; may take seconds to minutes."""

    @abstractmethod
    def unload(self) -> None:
        """Free the model's memory. The instance is not used afterwards."""

    def health(self) -> dict[str, Any]:
        """Engine-specific facts for /api/v1/system and /models/loaded."""
        return {}

    def replicas(self) -> list[ReplicaState]:
        """The servers behind this model and their state (engines over HTTP); [] otherwise."""
        return []

    @classmethod
    def cannot_serve(cls, source: ModelSource) -> str | None:
        """Why this engine cannot read ``source`` (checked before loading), or None if it can."""
        return None

    def admit(self, request: GenerationRequest) -> None:
        """Checks made before a response starts, so they can still be a 4xx: capacity
        (raise ``Overloaded``, 429) and request features this engine refuses (400)."""
        return None

    @property
    def queue_depth(self) -> int:
        """Requests waiting for this engine (0 for engines that do not queue)."""
        return 0

    def generation_defaults(self) -> SamplingDefaults:
        """Sampling defaults the loaded model ships (generation_config.json, GGUF metadata);
        the serving layer uses them for parameters a request leaves out."""
        return SamplingDefaults()

    # --- text ----------------------------------------------------------------------------------
    @property
    @abstractmethod
    def context_length(self) -> int:
        """Maximum tokens (prompt plus completion) the model accepts."""

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def dtype(self) -> str:
        return "unknown"

    @property
    def memory_bytes(self) -> int:
        """Bytes of memory the loaded model holds (weights; an estimate for remote engines)."""
        return 0

    @abstractmethod
    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        """Token ids of ``text``."""

    def render_chat(
        self,
        messages: list[ChatMessage],
        tools: list[dict[str, Any]] | None = None,
        *,
        ending: ChatEnding = "new_turn",
    ) -> str:
        """The prompt text the model's chat template makes of ``messages``, ready to generate.
        ``tools`` (OpenAI function definitions) go to templates that take them; ``ending``
        says whether the prompt opens a new assistant turn or continues the final message.

        Engines that hold the template locally override this (``LocalChatTemplate`` in
        ``chat_format.py``); engines that apply it on their own server keep this refusal."""
        from app.core.errors import InvalidRequest

        raise InvalidRequest(
            f"The {self.name} backend applies its chat template remotely.", param="model"
        )

    def chat_template_text(self) -> str:
        """The model's chat template source ('' when it has none or it is applied remotely)."""
        return ""

    def detokenize(self, token_ids: list[int]) -> str:
        """Text of ``token_ids`` (special tokens left out); engines with a local tokenizer."""
        from app.core.errors import InvalidRequest

        raise InvalidRequest(
            f"The {self.name} backend has no local tokenizer for '{self.source.model_id}'.",
            param="model",
        )

    # --- generation ----------------------------------------------------------------------------
    @abstractmethod
    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        """Generate, yielding events as tokens appear. The last event carries finish_reason.

        Must stop within one decode step once ``cancel`` is set, and honour every field of
        ``request.params`` (stop strings included: no text of a stop string is ever yielded).
        """

    def generate(self, request: GenerationRequest, cancel: threading.Event) -> list[TokenEvent]:
        """Run to completion and return every event; engines may override for speed."""
        return list(self.stream(request, cancel))

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embedding vectors for ``texts``; only when ``capabilities.embeddings``."""
        from app.core.errors import InvalidRequest

        raise InvalidRequest(
            f"The {self.name} backend does not serve embeddings for '{self.source.model_id}'.",
            param="model",
        )
