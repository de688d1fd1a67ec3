"""llama.cpp backend (llama-cpp-python's C API): GGUF files on CPU, quantized or not.

The model's own metadata drives it: the chat template (``tokenizer.chat_template``), special
tokens and end-of-generation tokens, the trained context. Generation goes through
:class:`LlamaScheduler`, which decodes up to ``MP_LLAMACPP_PARALLEL`` requests together in one
context; each request keeps its own sampler chain (seed, temperature, top-k/p, repetition
penalty, JSON-schema grammar), stop strings and stream. Embeddings use a second, embedding-mode
context on the same file, created on first use.
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any, ClassVar

from app.backends.base import (
    Backend,
    Capabilities,
    GenerationRequest,
    TokenEvent,
    check_token_ids,
)
from app.backends.chat_format import LocalChatTemplate
from app.backends.chat_template import ChatTemplate
from app.backends.generation_defaults import SamplingDefaults, from_gguf_metadata
from app.core.errors import GenerationFailed
from app.core.hardware import cpu_flags, physical_cores


@cache
def _init_llama_backend() -> None:
    import llama_cpp
    from llama_cpp._logger import set_verbose

    set_verbose(False)  # llama.cpp logs every tensor at INFO; keep errors only
    llama_cpp.llama_backend_init()


class LlamaCppBackend(LocalChatTemplate, Backend):
    """A GGUF model loaded with llama.cpp, served by a multi-sequence scheduler."""

    name: ClassVar[str] = "llamacpp"
    extra: ClassVar[str] = "requirements-cpu.txt"
    capabilities: ClassVar[Capabilities] = Capabilities(
        embeddings=True, json_schema=True, tools=True, logprobs=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._model: Any = None
        self._scheduler: Any = None
        self._metadata: dict[str, str] = {}
        self._template = ChatTemplate(None)
        self._embedder: Any = None
        self._embed_lock = threading.Lock()
        self._threads = 1
        self._bos_text = ""
        self._eos_text = ""
        # Token id -> bytes of its piece: the detokenizer decodes a sliding window each step.
        self._pieces: dict[int, bytes] = {}

    # --- lifecycle -----------------------------------------------------------------------------
    def load(self) -> None:
        import llama_cpp
        from llama_cpp._internals import LlamaModel

        from app.backends.llamacpp.scheduler import LlamaScheduler

        _init_llama_backend()
        path = str(self.source.path)
        params = llama_cpp.llama_model_default_params()
        params.use_extra_bufts = self._extra_buffers()
        try:
            self._model = LlamaModel(path_model=path, params=params, verbose=False)
        except ValueError as exc:
            raise GenerationFailed(
                f"llama.cpp could not load '{self.source.model_id}': {exc}"
            ) from exc
        self._metadata = self._model.metadata()
        self._threads = self.settings.threads or physical_cores()
        trained = self._model.n_ctx_train()
        wanted = self.settings.llamacpp_n_ctx or trained
        self._bos_text = self._piece(self._model.token_bos(), special=True)
        self._eos_text = self._piece(self._model.token_eos(), special=True)
        self._template = ChatTemplate(
            self._metadata.get("tokenizer.chat_template"), self._bos_text, self._eos_text
        )
        self._scheduler = LlamaScheduler(
            self._model,
            n_parallel=self.settings.llamacpp_parallel,
            n_ctx_per_seq=min(wanted, trained),
            n_batch=self.settings.llamacpp_n_batch,
            n_threads=self._threads,
            queue_max=self.settings.llamacpp_queue_max,
            decode=self._decode,
            on_token=self.stats.add_tokens,
            name=self.source.model_id,
            token_text=lambda t: self._piece(t, special=True),
            stop_ids=frozenset(self._stop_ids()),
        )

    def _stop_ids(self) -> list[int]:
        """Ids of the template's end-of-turn tokens that are single tokens of this vocabulary."""
        ids = []
        for text in self._template.stop_tokens():
            tokens = self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) == 1:
                ids.append(int(tokens[0]))
        return ids

    def _extra_buffers(self) -> bool:
        wanted = self.settings.llamacpp_extra_buffers
        if wanted != "auto":
            return wanted == "on"
        return "amx_int8" not in cpu_flags()

    def unload(self) -> None:
        if self._scheduler is not None:
            self._scheduler.close()
            self._scheduler = None
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None
        if self._model is not None:
            self._model.close()
            self._model = None

    def health(self) -> dict[str, Any]:
        sched = self._scheduler
        return {
            "threads": self._threads,
            "parallel": sched.n_parallel if sched else None,
            "n_ctx_per_sequence": sched.n_ctx_per_seq if sched else None,
            "n_batch": sched.n_batch if sched else None,
            "active_sequences": sched.active if sched else 0,
            "queue_depth": sched.queue_depth if sched else 0,
            "file_type": self._metadata.get("general.file_type"),
            "extra_buffers": self._extra_buffers(),
        }

    # --- text ----------------------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        """Tokens one sequence may hold: its share of the context (prompt plus completion)."""
        return int(self._scheduler.n_ctx_per_seq)

    @property
    def dtype(self) -> str:
        return _FILE_TYPES.get(self._metadata.get("general.file_type", ""), "gguf")

    @property
    def memory_bytes(self) -> int:
        return int(self._model.size()) if self._model is not None else 0

    @property
    def queue_depth(self) -> int:
        return self._scheduler.queue_depth if self._scheduler is not None else 0

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        add_bos = add_special_tokens and self._model.add_bos_token()
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def generation_defaults(self) -> SamplingDefaults:
        return from_gguf_metadata(self._metadata)

    def _piece(self, token: int, special: bool = False) -> str:
        return self._piece_bytes(token, special).decode("utf-8", errors="replace")

    def _piece_bytes(self, token: int, special: bool = False) -> bytes:
        import llama_cpp

        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self._model.vocab, token, buf, size, 0, special)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def _cached_piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._piece_bytes(token)
        return piece

    def detokenize(self, token_ids: list[int]) -> str:
        check_token_ids(token_ids, int(self._model.n_vocab()))
        return self._decode(token_ids)

    def _decode(self, ids: Sequence[int]) -> str:
        # Special tokens render as nothing (skip_special_tokens), bytes join before decoding.
        data = b"".join(self._cached_piece(t) for t in ids)
        return data.decode("utf-8", errors="replace")

    # --- generation ----------------------------------------------------------------------------
    def admit(self, request: GenerationRequest) -> None:
        if request.params.constraint is not None:
            from app.backends.llamacpp.sampling import check_grammar, schema_grammar

            # Parsed here too, so a grammar llama.cpp refuses is a 400, not a broken stream.
            check_grammar(
                self._model.vocab,
                schema_grammar(request.params.constraint),
                request.params.constraint.param,
            )
        if not self._scheduler.has_room():
            raise self._scheduler.overloaded()

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        from app.backends.llamacpp.sampling import schema_grammar
        from app.backends.llamacpp.scheduler import END

        grammar = None
        if request.params.constraint is not None:
            grammar = schema_grammar(request.params.constraint)
        seq = self._scheduler.submit(
            request, cancel, self._model.vocab, self._model.n_vocab(), grammar
        )
        self.stats.started()
        try:
            while True:
                try:
                    item = seq.out.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, TokenEvent)
                yield item
        finally:
            # Leaving early (consumer closed us): the scheduler drops the sequence next step.
            cancel.set()
            self.stats.finished()

    # --- embeddings ----------------------------------------------------------------------------
    def embed(self, texts: list[str]) -> list[list[float]]:
        with self._embed_lock:
            if self._embedder is None:
                self._embedder = self._make_embedder()
            return [list(map(float, v)) for v in self._embedder.embed(texts, normalize=True)]

    def _make_embedder(self) -> Any:
        import llama_cpp

        arch = self._metadata.get("general.architecture", "")
        pooling = llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED
        if f"{arch}.pooling_type" not in self._metadata:
            # A generative model: mean-pool its last hidden states (what Ollama does too).
            pooling = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        return llama_cpp.Llama(
            str(self.source.path),
            embedding=True,
            pooling_type=pooling,
            n_ctx=min(self._model.n_ctx_train(), 2048),
            n_batch=2048,
            n_ubatch=2048,
            n_threads=self._threads,
            verbose=False,
        )


# general.file_type values (llama_ftype) of the common GGUF encodings.
_FILE_TYPES = {
    "0": "f32",
    "1": "f16",
    "2": "q4_0",
    "3": "q4_1",
    "7": "q8_0",
    "8": "q5_0",
    "9": "q5_1",
    "10": "q2_k",
    "12": "q3_k_m",
    "15": "q4_k_m",
    "17": "q5_k_m",
    "18": "q6_k",
    "32": "bf16",
}
