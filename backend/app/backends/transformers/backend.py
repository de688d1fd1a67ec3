"""Hugging Face Transformers backend: a causal LM in this process, on CPU or CUDA.

Decoding is our own loop over ``model(...)`` rather than ``generate()``: owning the loop gives
per-step cancellation, per-request seeds, stop strings and logprobs without callbacks, and lets
concurrent requests share each forward pass. A :class:`DecodeScheduler` thread owns the model and
decodes every running request of this model in one batch (see ``batching.py``); ``stream``
submits a request and reads its events from the request's own queue.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict
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
from app.backends.generation_defaults import SamplingDefaults, from_generation_config
from app.backends.transformers.attention import register as register_rowwise_attention
from app.backends.transformers.batching import DecodeScheduler
from app.backends.transformers.grammar import GrammarCompiler, RowGrammar
from app.backends.transformers.packing import can_pack, pack_linears
from app.backends.transformers.prefix_cache import PrefixCache
from app.backends.transformers.torch_build import torch_build_lock
from app.core.errors import GenerationFailed
from app.core.hardware import cpu_supports_bf16

_DTYPE_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
_SAVED_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def saved_dtype(folder: Any) -> str | None:
    """The dtype a checkpoint's ``config.json`` says its weights were saved in (``fp32``,
    ``bf16``, ``fp16``), or None when it does not say."""
    from pathlib import Path

    try:
        config = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    value = config.get("dtype") or config.get("torch_dtype")
    return _SAVED_DTYPES.get(str(value)) if value else None


def pick_cpu_dtype(saved: str | None, native_bf16: bool) -> str:
    """``MP_DTYPE=auto`` on a CPU. A checkpoint saved in fp32 stays in fp32: its author kept
    the full precision, and rounding it to bf16 can change greedy answers (the bundled
    SmolLM2 is the Q4_1 GGUF's exact fp32 weights; rounded to bf16 it fell into repetition
    loops more often, docs/models.md). Anything else runs in bf16 where the CPU computes it
    natively, else in fp32 (bf16 is emulated and slower there)."""
    if saved == "fp32":
        return "fp32"
    return "bf16" if native_bf16 else "fp32"


class TransformersBackend(LocalChatTemplate, Backend):
    """A ``transformers`` AutoModelForCausalLM with its tokenizer and chat template."""

    name: ClassVar[str] = "transformers"
    extra: ClassVar[str] = "requirements-cpu.txt"
    capabilities: ClassVar[Capabilities] = Capabilities(
        logprobs=True, embeddings=False, json_schema=True, tools=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None
        self._device = "cpu"
        self._dtype = "fp32"
        self._eos_ids: set[int] = set()
        self._template = ChatTemplate(None)
        self._defaults = SamplingDefaults()
        self._scheduler: DecodeScheduler | None = None
        self._memory_bytes = 0
        self._packed = 0  # Linear layers pre-packed for oneDNN (packing.py)
        self._grammars: GrammarCompiler | None = None  # made on the first constrained request
        self._grammar_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------
    def load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._torch = torch
        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        self._device = self._pick_device(torch)
        self._dtype = self._pick_dtype(torch)
        path = str(self.source.path)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            with torch_build_lock:  # from_pretrained is not thread-safe (torch_build.py)
                self._model = AutoModelForCausalLM.from_pretrained(
                    path, dtype=getattr(torch, _DTYPE_NAMES[self._dtype])
                )
        except (OSError, ValueError) as exc:
            raise GenerationFailed(
                f"Could not load '{self.source.model_id}' with transformers: {exc}"
            ) from exc
        self._model.to(self._device)
        self._model.eval()
        if self._model.config._attn_implementation == "sdpa":
            # Batched decode gives each request exactly its output alone (attention.py).
            self._model.set_attn_implementation(register_rowwise_attention())
        self._memory_bytes = int(self._model.get_memory_footprint())
        self._packed = 0
        if self.settings.hf_pack_weights and can_pack(self._model) is None:
            self._packed = pack_linears(self._model)
        tok = self._tokenizer
        self._template = ChatTemplate(
            getattr(tok, "chat_template", None) or None,
            str(tok.bos_token or ""),
            str(tok.eos_token or ""),
        )
        self._eos_ids = self._collect_eos_ids()
        self._defaults = from_generation_config(self.source.path)
        self._scheduler = DecodeScheduler(
            self._model,
            device=self._device,
            eos_ids=self._eos_ids,
            decode=self._decode,
            token_text=self._token_text,
            max_batch=self.settings.max_batch_size,
            on_token=self.stats.add_tokens,
            prefill_chunk=self.settings.prefill_chunk_tokens,
            prefix_cache=(
                PrefixCache(self.settings.prefix_cache_mb * 1024 * 1024)
                if self.settings.prefix_cache_mb > 0
                else None
            ),
        )

    def unload(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        self._model = None
        self._tokenizer = None
        if self._torch is not None and self._device.startswith("cuda"):
            self._torch.cuda.empty_cache()

    def _pick_device(self, torch: Any) -> str:
        wanted = self.settings.device
        if wanted == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return wanted

    def _pick_dtype(self, torch: Any) -> str:
        wanted = self.settings.dtype
        if wanted != "auto":
            return wanted
        if self._device.startswith("cuda"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return pick_cpu_dtype(saved_dtype(self.source.path), cpu_supports_bf16())

    def _collect_eos_ids(self) -> set[int]:
        ids: set[int] = set()
        gen_eos = getattr(self._model.generation_config, "eos_token_id", None)
        for value in (gen_eos, self._tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list):
                ids.update(value)
        # The chat template's end-of-turn tokens (e.g. <|im_end|>) end a reply too.
        vocab = self._tokenizer.get_vocab()
        ids.update(vocab[t] for t in self._template.stop_tokens() if t in vocab)
        return ids

    def health(self) -> dict[str, Any]:
        return {
            "device": self._device,
            "dtype": self._dtype,
            "threads": self._torch.get_num_threads() if self._torch else None,
            "batch_size": self._scheduler.batch_size if self._scheduler else 0,
            "max_batch_size": self.settings.max_batch_size,
            "packed_linears": self._packed,
            "prefill_chunk_tokens": self.settings.prefill_chunk_tokens,
            "prefix_cache": self._prefix_cache_health(),
        }

    def _prefix_cache_health(self) -> dict[str, int] | None:
        cache = self._scheduler.prefix_cache if self._scheduler else None
        return None if cache is None else asdict(cache.stats())

    # --- text ----------------------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        config = self._model.config
        return int(getattr(config, "max_position_embeddings", 2048))

    @property
    def device(self) -> str:
        return self._device

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes if self._model is not None else 0

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def generation_defaults(self) -> SamplingDefaults:
        return self._defaults

    def detokenize(self, token_ids: list[int]) -> str:
        check_token_ids(token_ids, len(self._tokenizer))
        return self._decode(token_ids)

    def _decode(self, ids: Any) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=True))

    def _token_text(self, token_id: int) -> str:
        return str(self._tokenizer.decode([token_id], skip_special_tokens=False))

    # --- generation ----------------------------------------------------------------------------
    def _compiler(self) -> GrammarCompiler:
        with self._grammar_lock:
            if self._grammars is None:
                # The logits' width (lm_head may be pre-packed: read the config, not weights).
                vocab = int(self._model.config.get_text_config(decoder=True).vocab_size)
                self._grammars = GrammarCompiler(
                    self._tokenizer, vocab, self._eos_ids, self.settings.grammar_cache_bytes
                )
            return self._grammars

    def admit(self, request: GenerationRequest) -> None:
        # Compiling here makes a bad schema a 400 before the response starts (and warms the
        # cache for stream()).
        if request.params.constraint is not None:
            self._compiler().compile(request.params.constraint)

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        scheduler = self._scheduler
        if scheduler is None:
            raise GenerationFailed(f"'{self.source.model_id}' is not loaded.")
        grammar: RowGrammar | None = None
        if request.params.constraint is not None:
            compiler = self._compiler()
            grammar = compiler.row(compiler.compile(request.params.constraint))
        seq = scheduler.submit(request, cancel, grammar)
        self.stats.started()
        try:
            while True:
                try:
                    item = seq.events.get(timeout=0.05)
                except queue.Empty:
                    # Still queued behind a full batch: leave the queue at once when cancelled.
                    if seq.cancelled and scheduler.withdraw(seq):
                        yield TokenEvent("", finish_reason="cancelled")
                        return
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            # The consumer may stop early without setting ``cancel``; the batch drops it then.
            seq.abandoned = True
            self.stats.finished()
