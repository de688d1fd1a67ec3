"""ctransformers backend: the legacy GGML/GGUF loader, kept for comparison with llama.cpp.

ctransformers 0.2.27 bundles a llama.cpp from 2023. It reads today's GGUF (v3) llama files only
when they carry an ``output.weight`` tensor (untied embeddings) and only in the tensor types that
old code knows; anything else fails inside the library with "Failed to create LLM 'llama'".
:meth:`CTransformersBackend.cannot_serve` checks a file before loading, so the registry can say
why and fall back to llama.cpp. One request runs at a time per model (a lock), like the
library's own API; cancellation is checked between tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from app.backends.base import (
    Backend,
    Capabilities,
    GenerationRequest,
    ModelSource,
    TokenEvent,
    check_token_ids,
)
from app.backends.chat_format import LocalChatTemplate
from app.backends.chat_template import ChatTemplate
from app.backends.gguf_info import read_gguf
from app.backends.text import IncrementalDetokenizer, StopMatcher
from app.core.errors import GenerationFailed
from app.core.hardware import physical_cores

# Tensor types the llama.cpp inside ctransformers 0.2.27 understands.
_KNOWN_TYPES = {
    "F32",
    "F16",
    "Q4_0",
    "Q4_1",
    "Q5_0",
    "Q5_1",
    "Q8_0",
    "Q2_K",
    "Q3_K",
    "Q4_K",
    "Q5_K",
    "Q6_K",
}


class CTransformersBackend(LocalChatTemplate, Backend):
    """A GGUF llama file loaded with ctransformers (legacy)."""

    name: ClassVar[str] = "ctransformers"
    extra: ClassVar[str] = "requirements-extras.txt"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._llm: Any = None
        self._facts: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._template = ChatTemplate(None)

    @classmethod
    def cannot_serve(cls, source: ModelSource) -> str | None:
        if source.format != "gguf" or not source.path.is_file():
            return "ctransformers reads single GGUF files only"
        try:
            facts = read_gguf(source.path)
        except (OSError, ValueError) as exc:
            return f"the file is not readable GGUF ({exc})"
        if facts["architecture"] != "llama":
            arch = facts["architecture"]
            return f"ctransformers reads GGUF files of llama models only, not {arch}"
        if "output.weight" not in facts["tensors"]:
            return (
                "the file ties its output layer to the embeddings (no output.weight); "
                "ctransformers' 2023 llama.cpp cannot load such GGUF files"
            )
        unknown = facts["types"] - _KNOWN_TYPES
        if unknown:
            return f"tensor types {', '.join(sorted(unknown))} are newer than ctransformers"
        return None

    # --- lifecycle -----------------------------------------------------------------------------
    def load(self) -> None:
        from ctransformers import AutoModelForCausalLM

        path = self.source.path
        self._facts = read_gguf(path)
        trained = int(self._facts["context_length"] or 2048)
        try:
            self._llm = AutoModelForCausalLM.from_pretrained(
                str(path),
                model_type="llama",
                context_length=min(self.settings.llamacpp_n_ctx or trained, trained),
                threads=self.settings.threads or physical_cores(),
                batch_size=self.settings.llamacpp_n_batch,
                gpu_layers=0,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise GenerationFailed(
                f"ctransformers could not load '{self.source.model_id}': {exc}"
            ) from exc
        self._template = ChatTemplate(self._facts["chat_template"] or None, "<s>", "</s>")

    def unload(self) -> None:
        self._llm = None

    # --- text ----------------------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        return int(self._llm.context_length)

    @property
    def dtype(self) -> str:
        return "/".join(sorted(t.lower() for t in self._facts.get("types", ())))

    @property
    def memory_bytes(self) -> int:
        return self.source.path.stat().st_size

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self._llm.tokenize(text, add_bos_token=add_special_tokens))

    def chat_template_text(self) -> str:
        # Not shown to the tool planner: this engine offers no tools, so tool history reaches
        # render_chat flattened into plain turns and tool definitions never do.
        return ""

    def detokenize(self, token_ids: list[int]) -> str:
        check_token_ids(token_ids, int(self._llm.vocab_size))
        return self._decode(token_ids)

    def _decode(self, ids: Any) -> str:
        return str(self._llm.detokenize(list(ids), decode=False).decode("utf-8", "replace"))

    # --- generation ----------------------------------------------------------------------------
    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        while not self._lock.acquire(timeout=0.05):
            if cancel.is_set():
                yield TokenEvent("", finish_reason="cancelled")
                return
        self.stats.started()
        try:
            yield from self._generate(request, cancel)
        finally:
            self.stats.finished()
            self._lock.release()

    def _generate(
        self, request: GenerationRequest, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        params = request.params
        detok = IncrementalDetokenizer(self._decode, request.prompt_token_ids)
        stops = StopMatcher(params.stop)
        # Greedy is top-k 1; top_k 0 ("off") is the whole vocabulary for ctransformers.
        top_k = 1 if params.greedy else (params.top_k or self._llm.vocab_size)
        tokens = self._llm.generate(
            request.prompt_token_ids,
            top_k=top_k,
            top_p=params.top_p,
            temperature=params.temperature if not params.greedy else 1.0,
            repetition_penalty=params.repetition_penalty,
            last_n_tokens=self.context_length,
            seed=params.seed if params.seed is not None else -1,
            reset=True,
        )
        generated = 0
        try:
            for token in tokens:
                if cancel.is_set():
                    yield TokenEvent(stops.flush(), finish_reason="cancelled")
                    return
                generated += 1
                self.stats.add_tokens()
                if token in self._facts["eog_ids"]:
                    yield TokenEvent(stops.flush(), [token], finish_reason="stop")
                    return
                text, stopped = stops.feed(detok.add(token))
                if stopped:
                    yield TokenEvent(text, [token], finish_reason="stop")
                    return
                if generated >= params.max_tokens:
                    yield TokenEvent(text + stops.flush(), [token], finish_reason="length")
                    return
                yield TokenEvent(text, [token])
        finally:
            tokens.close()
        yield TokenEvent(stops.flush(), finish_reason="stop")
