"""The backend protocol and the internal types every engine speaks.

Backends never see HTTP schemas: the serving layer (``services/generation.py``) translates native
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
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from app.backends.generation_defaults import SamplingDefaults

if TYPE_CHECKING:
    from app.backends.http.replicas import ReplicaState
    from app.core.config import Settings

FinishReason = Literal["stop", "length", "cancelled"]
ModelFormat = Literal["hf", "gguf", "ollama", "remote"]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond plain generation (which, with seeds, stop strings and
    cancellation, every backend does). ``services/capabilities.py`` checks requests against
    it (400 with the reason); ``/api/v1/system`` lists it per backend. The formats a backend
    reads are declared once, in the registry."""

    chat_template: bool = True
    embeddings: bool = False
    logprobs: bool = False
    json_schema: bool = False
    # OpenAI tools: the engine (or the serving layer on its behalf) renders tool definitions,
    # parses calls out of the output and, for required/named choices, constrains decoding.
    tools: bool = False
    # False for engines behind HTTP (Ollama, vLLM, remote): they take text or messages, count
    # tokens themselves and report usage on their last event.
    local_tokenizer: bool = True


Role = Literal["system", "user", "assistant", "tool"]
# How a chat prompt ends: a new assistant turn opened (the template's add_generation_prompt),
# the final message left open for the model to continue (assistant prefill; HF's
# continue_final_message), or neither.
ChatEnding = Literal["new_turn", "continue", "none"]


@dataclass(frozen=True)
class ToolCall:
    """One function call the model made (or made earlier, in the history)."""

    id: str
    name: str
    arguments: str  # JSON text of the arguments object


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that called tools
    tool_call_id: str | None = None  # tool messages: the call they answer


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call; ``parameters`` is its JSON schema as JSON text."""

    name: str
    description: str = ""
    parameters: str = '{"type": "object", "properties": {}}'


@dataclass(frozen=True)
class ToolUse:
    """The tools of a request and how the model must use them (OpenAI's ``tool_choice``)."""

    tools: tuple[ToolSpec, ...]
    choice: Literal["auto", "none", "required", "function"] = "auto"
    function: str | None = None  # with choice == "function": the one to call
    parallel: bool = True


@dataclass(frozen=True)
class Constraint:
    """What decoding must produce, already checked by the serving layer: one JSON value that
    follows ``json_schema`` (JSON text, local ``$ref`` only, keywords every grammar engine here
    enforces). Engines compile it into their own grammar (xgrammar, GBNF, guided decoding) and
    end generation once the value is complete. ``param`` names the request field it came from,
    for error messages."""

    json_schema: str
    param: str = "response_format"


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings, already validated and clamped by the serving layer."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = disabled
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: int | None = None  # None = off; N = also return N top alternatives per token
    constraint: Constraint | None = None  # the output must follow it (None = free)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class GenerationRequest:
    """One generation, independent of the API it came through."""

    request_id: str
    prompt_token_ids: list[int]
    params: SamplingParams
    # What the prompt ids were made of; engines without a local tokenizer send these instead.
    prompt_text: str = ""
    messages: list[ChatMessage] | None = None
    # Tools, for engines that template and parse them themselves (Ollama, vLLM, remote).
    tools: ToolUse | None = None
    # How the chat prompt ends, for engines that template the messages themselves.
    chat_ending: ChatEnding = "new_turn"


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass
class TokenEvent:
    """One step of output: the text it adds (may be empty while bytes of a character or a
    possible stop string are held back) and, on the last event, the finish reason."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: FinishReason | None = None
    # (prompt_tokens, completion_tokens) counted by a remote engine, on its last event only.
    usage: tuple[int, int] | None = None
    # Text produced by a remote engine that reports no token ids: counts as one token.
    remote_token: bool = False
    # Prompt tokens whose KV the engine reused from its prefix cache (first token's event).
    cached_tokens: int | None = None
    # Structured output of engines that parse it themselves (Ollama, vLLM, remote).
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call, as OpenAI streams them: the first piece of call
    ``index`` carries its id and name, later ones fragments of the arguments."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class ModelSource:
    """Where a model's files are and what format they have."""

    model_id: str
    path: Path
    format: ModelFormat
    extra: dict[str, Any] = field(default_factory=dict)


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

    @abstractmethod
    def render_chat(
        self,
        messages: list[ChatMessage],
        tools: list[dict[str, Any]] | None = None,
        *,
        ending: ChatEnding = "new_turn",
    ) -> str:
        """The prompt text the model's chat template makes of ``messages``, ready to generate.
        ``tools`` (OpenAI function definitions) go to templates that take them; ``ending``
        says whether the prompt opens a new assistant turn or continues the final message."""

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
