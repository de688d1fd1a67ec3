"""The value types of a generation, shared by the API, the services and the engines.

Routes translate requests into these types (:class:`ChatMessage`, :class:`ToolUse`,
:class:`SamplingParams` through the services) and read engine output from them
(:class:`TokenEvent`, :class:`ToolCallDelta`), yet must not depend on the engine layer: the
:class:`~app.backends.base.Backend` protocol, the registry or any engine module. So the types
live in this module of their own, which imports nothing from the application: ``api/`` may
import it and nothing else of ``backends/`` (docs/architecture.md, "Import rules", checked by
``tests/test_layers.py``). It sits inside ``backends/`` rather than at the top of ``app/``
because it is the engines' contract: a backend author finds it beside ``base.py``, which
imports these names from here and keeps exporting them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FinishReason = Literal["stop", "length", "cancelled"]
# Where a step's draft tokens came from (speculative decoding): the text so far (prompt
# lookup) or the request's predicted output.
DraftSource = Literal["ngram", "prediction"]
ModelFormat = Literal["hf", "gguf", "ollama", "remote"]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond plain generation (which, with seeds, stop strings and
    cancellation, every backend does). ``services/generation/capabilities.py`` checks requests
    against it (400 with the reason); ``/api/v1/system`` lists it per backend. The formats a
    backend reads are declared once, in the registry."""

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

    def as_openai(self) -> dict[str, Any]:
        """The definition in OpenAI's shape, as chat templates and OpenAI-compatible (and
        Ollama) servers take it."""
        function = {
            "name": self.name,
            "description": self.description,
            "parameters": json.loads(self.parameters),
        }
        return {"type": "function", "function": function}


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

    def seed_and_stop(self) -> dict[str, Any]:
        """``seed`` and ``stop`` for a server's JSON request (OpenAI's and Ollama's take them
        alike), each only when set."""
        fields: dict[str, Any] = {}
        if self.seed is not None:
            fields["seed"] = self.seed
        if self.stop:
            fields["stop"] = list(self.stop)
        return fields


@dataclass(frozen=True)
class Speculation:
    """Draft-and-verify decoding for one request (docs/speculative.md), settled by the
    service from the server's settings and the request. Engines without it ignore it; the
    output is the same either way (greedy: token for token; sampled: in distribution)."""

    mode: Literal["off", "ngram"] = "off"
    max_draft: int = 6  # most draft tokens verified per step for this request
    ngram_max: int = 3  # longest suffix looked up in the text so far
    ngram_min: int = 2  # shortest suffix that may propose a draft
    # Below this acceptance rate (after a few drafts) a request stops drafting for a while.
    min_acceptance: float = 0.3
    # Token ids of a predicted output (OpenAI's ``prediction``): drafts come from it first.
    prediction: tuple[int, ...] = ()

    @property
    def active(self) -> bool:
        return self.max_draft > 0 and (self.mode == "ngram" or bool(self.prediction))


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
    speculation: Speculation = field(default_factory=Speculation)


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
    # Speculative decoding: draft tokens verified in the step that made this event (on the
    # step's first event), whether this event's token was a draft token the model accepted,
    # and where the step's draft came from.
    drafted: int = 0
    accepted_draft: bool = False
    draft_source: DraftSource | None = None


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
