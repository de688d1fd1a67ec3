"""Hugging Face Transformers backend: a causal LM in this process, on CPU or CUDA.

Decoding is a plain loop over ``model(...)`` with a KV cache rather than ``generate()``: one
forward per step is what ``generate`` does too (measured no slower here), and owning the loop
gives per-step cancellation, per-request seeds, stop strings and logprobs without callbacks.
Requests for one model are served one at a time for now (a lock); the lock is given up between
requests only, and a cancelled waiter leaves the queue at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from app.backends.base import (
    Backend,
    Capabilities,
    ChatMessage,
    GenerationRequest,
    TokenEvent,
    TokenLogprob,
)
from app.backends.sampling import make_generator, sample_next
from app.backends.text import IncrementalDetokenizer, StopMatcher
from app.core.errors import GenerationFailed
from app.core.hardware import cpu_supports_bf16

_DTYPE_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


class TransformersBackend(Backend):
    """A ``transformers`` AutoModelForCausalLM with its tokenizer and chat template."""

    name: ClassVar[str] = "transformers"
    extra: ClassVar[str] = "requirements-cpu.txt"
    capabilities: ClassVar[Capabilities] = Capabilities(
        logprobs=True, embeddings=False, formats=("hf",)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None
        self._device = "cpu"
        self._dtype = "fp32"
        self._eos_ids: set[int] = set()
        self._lock = threading.Lock()

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
            self._model = AutoModelForCausalLM.from_pretrained(
                path, dtype=getattr(torch, _DTYPE_NAMES[self._dtype])
            )
        except (OSError, ValueError) as exc:
            raise GenerationFailed(
                f"Could not load '{self.source.model_id}' with transformers: {exc}"
            ) from exc
        self._model.to(self._device)
        self._model.eval()
        self._eos_ids = self._collect_eos_ids()

    def unload(self) -> None:
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
        return "bf16" if cpu_supports_bf16() else "fp32"

    def _collect_eos_ids(self) -> set[int]:
        ids: set[int] = set()
        gen_eos = getattr(self._model.generation_config, "eos_token_id", None)
        for value in (gen_eos, self._tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list):
                ids.update(value)
        return ids

    def health(self) -> dict[str, Any]:
        return {
            "device": self._device,
            "dtype": self._dtype,
            "threads": self._torch.get_num_threads() if self._torch else None,
        }

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
        return int(self._model.get_memory_footprint()) if self._model is not None else 0

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def render_chat(self, messages: list[ChatMessage]) -> str:
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        if getattr(self._tokenizer, "chat_template", None):
            return str(
                self._tokenizer.apply_chat_template(
                    conversation, tokenize=False, add_generation_prompt=True
                )
            )
        # A base model without a template: a plain transcript is the least surprising prompt.
        lines = [f"{m.role}: {m.content}" for m in messages]
        return "\n".join(lines) + "\nassistant:"

    def _decode(self, ids: Any) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=True))

    def _token_text(self, token_id: int) -> str:
        return str(self._tokenizer.decode([token_id], skip_special_tokens=False))

    # --- generation ----------------------------------------------------------------------------
    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        while not self._lock.acquire(timeout=0.05):
            if cancel.is_set():
                yield TokenEvent("", finish_reason="cancelled")
                return
        self.stats.started()
        try:
            yield from self._decode_loop(request, cancel)
        finally:
            self.stats.finished()
            self._lock.release()

    def _decode_loop(
        self, request: GenerationRequest, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        torch = self._torch
        from transformers import DynamicCache

        params = request.params
        generator = make_generator(params.seed)
        detok = IncrementalDetokenizer(self._decode, request.prompt_token_ids)
        stops = StopMatcher(params.stop)
        seen = torch.tensor(request.prompt_token_ids, dtype=torch.long)
        cache = DynamicCache(config=self._model.config)
        with torch.inference_mode():
            input_ids = torch.tensor([request.prompt_token_ids], device=self._device)
            logits = self._model(input_ids=input_ids, past_key_values=cache).logits[0, -1]
            for _ in range(params.max_tokens):
                if cancel.is_set():
                    yield TokenEvent(stops.flush(), finish_reason="cancelled")
                    return
                token = sample_next(logits.cpu(), params, seen, generator)
                self.stats.add_tokens()
                logprobs = self._logprobs(token, params.logprobs)
                if token.token_id in self._eos_ids:
                    yield TokenEvent(stops.flush(), [token.token_id], logprobs, "stop")
                    return
                text, stopped = stops.feed(detok.add(token.token_id))
                if stopped:
                    yield TokenEvent(text, [token.token_id], logprobs, "stop")
                    return
                yield TokenEvent(text, [token.token_id], logprobs)
                seen = torch.cat([seen, torch.tensor([token.token_id])])
                step_ids = torch.tensor([[token.token_id]], device=self._device)
                logits = self._model(input_ids=step_ids, past_key_values=cache).logits[0, -1]
        yield TokenEvent(stops.flush(), finish_reason="length")

    def _logprobs(self, token: Any, wanted: int | None) -> list[TokenLogprob]:
        if wanted is None:
            return []
        top = tuple((self._token_text(tid), lp) for tid, lp in token.top)
        return [TokenLogprob(self._token_text(token.token_id), token.logprob, top)]


def _now() -> float:
    return time.perf_counter()
