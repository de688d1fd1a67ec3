"""Multi-sequence decoding for one GGUF model: N sequences share one llama.cpp context and
advance together, one ``llama_decode`` per step.

On a CPU, a decode step is bound by reading the weights; a step that advances four sequences
costs little more than one that advances one, so concurrent requests share steps instead of
queueing behind a lock (what llama-cpp-python's own server does). Each step's batch holds the
next token of every decoding sequence plus a chunk of prompt tokens of newly admitted ones
(chunked prefill, at most ``n_batch`` tokens per step, so a long prompt never stalls the others
for more than one chunk). Finished or cancelled sequences leave at once and free their KV cells.
Requests beyond the N slots wait in a bounded queue; past the bound :meth:`submit` refuses them
with :class:`Overloaded` (429 with Retry-After).

Speculative decoding (docs/speculative.md), greedy requests only: a sequence with a
:class:`~app.backends.speculation.Drafter` feeds its next token and its draft tokens in the
same ``llama_decode`` (logits for each), keeps the draft tokens its greedy sampler chain picks
in turn, and removes the rejected ones' KV cells (``llama_memory_seq_rm``).

One thread owns the context; callers talk to it through :class:`Sequence` objects whose
``out`` queue carries :class:`TokenEvent` items, an exception, or ``END``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Sequence as IdSequence
from typing import Any

import llama_cpp
import numpy as np

from app.backends.base import GenerationRequest, TokenEvent, TokenLogprob
from app.backends.llamacpp.sampling import build_sampler, free_sampler
from app.backends.speculation import Drafter
from app.backends.text import IncrementalDetokenizer, StopMatcher
from app.core.errors import GenerationFailed, Overloaded

log = logging.getLogger(__name__)

END = object()


class Sequence:
    """One request inside the scheduler: its slot, progress, sampler and output queue."""

    def __init__(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        sampler: Any,
        decode: Callable[[IdSequence[int]], str],
    ) -> None:
        self.request = request
        self.cancel = cancel
        self.sampler = sampler
        self.out: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.detok = IncrementalDetokenizer(decode, request.prompt_token_ids)
        self.stops = StopMatcher(request.params.stop)
        self.slot = -1
        self.prefilled = 0  # prompt tokens already in the KV cache
        self.pos = 0  # position of the next token fed to the model
        self.next_token: int | None = None  # sampled, to be fed in the next step
        self.generated = 0
        self.logit_index = -1  # batch row whose logits this sequence samples from this step
        self.fed: list[int] = []  # tokens in this sequence's KV cells, in order
        # Speculative decoding (greedy, unconstrained requests): the draft fed after
        # next_token in this step, its source, and the batch rows of their logits.
        self.drafter: Drafter | None = None
        self.draft: list[int] = []
        self.draft_source: Any = None
        self.logit_rows: list[int] = []

    @property
    def prompt(self) -> list[int]:
        return self.request.prompt_token_ids


class LlamaScheduler:
    """Owns a llama.cpp context with ``n_parallel`` sequences and the thread that decodes it."""

    def __init__(
        self,
        model: Any,  # llama_cpp._internals.LlamaModel
        *,
        n_parallel: int,
        n_ctx_per_seq: int,
        n_batch: int,
        n_threads: int,
        queue_max: int,
        decode: Callable[[IdSequence[int]], str],
        on_token: Callable[[int], None],
        name: str,
        token_text: Callable[[int], str] | None = None,
        stop_ids: frozenset[int] = frozenset(),
    ) -> None:
        self._model = model
        # End-of-turn tokens of the chat template, beside the tokens llama.cpp marks as EOG.
        self._stop_ids = stop_ids
        self._decode = decode
        self._token_text = token_text or (lambda t: decode([t]))
        self._n_vocab = int(model.n_vocab())
        self._on_token = on_token
        self.n_parallel = n_parallel
        self.queue_max = queue_max
        self.n_batch = max(n_batch, n_parallel)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx_per_seq * n_parallel
        params.n_batch = self.n_batch
        params.n_ubatch = self.n_batch
        params.n_seq_max = n_parallel
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        # One KV stream per sequence: each gets exactly its share of the context.
        params.kv_unified = False
        params.no_perf = True
        self._ctx = llama_cpp.llama_init_from_model(model.model, params)
        if not self._ctx:
            raise GenerationFailed(f"llama.cpp could not create a context for {name}.")
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self.n_ctx_per_seq = int(llama_cpp.llama_n_ctx_seq(self._ctx))
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._free_slots = list(range(n_parallel))
        # Tokens whose KV cells a free slot still holds from its last sequence (each slot has its
        # own KV stream, so nobody else could use those cells): a prompt cache.
        self._cached: dict[int, list[int]] = {}
        self._active: list[Sequence] = []
        self._waiting: deque[Sequence] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"llamacpp-{name}", daemon=True)
        self._thread.start()

    # --- callers -----------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        return len(self._waiting)

    @property
    def active(self) -> int:
        return len(self._active)

    def has_room(self) -> bool:
        """Whether a new request would be accepted now (a free slot or room in the queue)."""
        with self._cond:
            busy = len(self._active) + len(self._waiting)
            return busy < self.n_parallel + self.queue_max

    def overloaded(self) -> Overloaded:
        return Overloaded(
            f"All {self.n_parallel} sequences of this model are busy and {self.queue_max} "
            "requests are already waiting; retry shortly.",
            retry_after_s=2,
        )

    def submit(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        vocab: Any,
        n_vocab: int,
        grammar: str | None,
    ) -> Sequence:
        """Queue a request; raises :class:`Overloaded` when the queue is full."""
        if not self.has_room():
            raise self.overloaded()
        sampler = build_sampler(request.params, vocab, n_vocab, request.prompt_token_ids, grammar)
        seq = Sequence(request, cancel, sampler, self._decode)
        if request.speculation.active and request.params.greedy and grammar is None:
            seq.drafter = Drafter(request.speculation, request.prompt_token_ids)
        with self._cond:
            if self._stopping:
                free_sampler(sampler)
                raise GenerationFailed("The model is being unloaded.")
            self._waiting.append(seq)
            self._cond.notify()
        return seq

    def close(self) -> None:
        """Stop the thread (sequences still running end with an error) and free the context."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=30)
        for seq in list(self._active) + list(self._waiting):
            self._fail(seq, GenerationFailed("The model was unloaded during generation."))
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            llama_cpp.llama_free(self._ctx)
            self._ctx = None

    # --- scheduler thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._active and not self._waiting:
                    self._cond.wait()
                if self._stopping:
                    return
                self._admit()
            try:
                self._step()
            except Exception as exc:  # an engine failure ends the sequences it touched
                log.exception("llama.cpp step failed")
                for seq in list(self._active):
                    self._fail(seq, GenerationFailed(f"llama.cpp decode failed: {exc}"))

    def _admit(self) -> None:
        for seq in [s for s in self._waiting if s.cancel.is_set()]:
            self._waiting.remove(seq)
            free_sampler(seq.sampler)
            seq.sampler = None
            self._emit_end(seq, TokenEvent("", finish_reason="cancelled"))
        while self._waiting and self._free_slots:
            seq = self._waiting.popleft()
            seq.slot, common = self._pick_slot(seq.prompt)
            self._free_slots.remove(seq.slot)
            self._cached.pop(seq.slot, None)
            # Keep the cells of the common prefix, drop the rest; at least the last prompt
            # token is decoded again, for its logits.
            common = min(common, len(seq.prompt) - 1)
            llama_cpp.llama_memory_seq_rm(self._mem, seq.slot, common, -1)
            seq.prefilled = seq.pos = common
            seq.fed = list(seq.prompt[:common])
            self._active.append(seq)

    def _pick_slot(self, prompt: list[int]) -> tuple[int, int]:
        """The free slot whose cached tokens share the longest prefix with ``prompt``."""
        best, best_len = self._free_slots[0], 0
        for slot in self._free_slots:
            cached = self._cached.get(slot, ())
            n = 0
            for a, b in zip(cached, prompt, strict=False):
                if a != b:
                    break
                n += 1
            if n > best_len:
                best, best_len = slot, n
        return best, best_len

    def _step(self) -> None:
        for seq in [s for s in self._active if s.cancel.is_set()]:
            self._finish(seq, TokenEvent(seq.stops.flush(), finish_reason="cancelled"))
        if not self._active:
            return
        batch, n = self._batch, 0
        sampling: list[Sequence] = []
        decoding = [s for s in self._active if s.next_token is not None]
        for index, seq in enumerate(decoding):
            assert seq.next_token is not None
            fed = [seq.next_token]
            if seq.drafter is not None:
                # Room in the batch for the decoding sequences still to come, in the context
                # and in max_tokens.
                room = min(
                    self.n_batch - n - (len(decoding) - index),
                    self.n_ctx_per_seq - seq.pos - 2,
                    seq.request.params.max_tokens - seq.generated - 1,
                )
                draft = seq.drafter.propose(room)
                seq.draft, seq.draft_source = draft.tokens, draft.source
                fed += draft.tokens
            for j, token in enumerate(fed):
                self._put(batch, n + j, token, seq.pos + j, seq.slot, True)
            seq.fed.extend(fed)
            seq.logit_rows = list(range(n, n + len(fed)))
            seq.logit_index, seq.pos, n = n, seq.pos + 1, n + len(fed)
            seq.next_token = None
            sampling.append(seq)
        for seq in self._active:
            budget = self.n_batch - n
            left = len(seq.prompt) - seq.prefilled
            if budget <= 0:
                break
            if seq.generated or left <= 0 or seq in sampling:
                continue
            chunk = min(left, budget)
            for j in range(chunk):
                at = seq.prefilled + j
                last = at == len(seq.prompt) - 1
                self._put(batch, n + j, seq.prompt[at], at, seq.slot, last)
            seq.fed.extend(seq.prompt[seq.prefilled : seq.prefilled + chunk])
            seq.prefilled += chunk
            seq.pos = seq.prefilled
            if seq.prefilled == len(seq.prompt):
                seq.logit_index = n + chunk - 1
                sampling.append(seq)
            n += chunk
        if n == 0:
            return
        batch.n_tokens = n
        rc = llama_cpp.llama_decode(self._ctx, batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        for seq in sampling:
            if seq.draft:
                self._verify(seq)
                continue
            token = int(llama_cpp.llama_sampler_sample(seq.sampler, self._ctx, seq.logit_index))
            logprobs = self._logprobs(seq, token)
            self._accept(seq, token, logprobs)

    def _verify(self, seq: Sequence) -> None:
        """Sample ``seq``'s draft rows in turn, keeping draft tokens while the greedy chain
        picks them; remove the rejected tokens' KV cells."""
        draft, source, accepted = seq.draft, seq.draft_source, 0
        seq.draft, seq.draft_source = [], None
        for j, row in enumerate(seq.logit_rows):
            seq.logit_index = row
            token = int(llama_cpp.llama_sampler_sample(seq.sampler, self._ctx, row))
            hit = j < len(draft) and token == draft[j]
            step = {
                "drafted": len(draft) if j == 0 else 0,
                "accepted_draft": hit,
                "draft_source": source,
            }
            if not self._accept(seq, token, self._logprobs(seq, token), step):
                return  # finished: its cells are released or kept as the slot's cache
            if not hit:
                break
            accepted += 1
            seq.pos += 1
        assert seq.drafter is not None
        seq.drafter.length.update(len(draft), accepted)
        if accepted < len(draft):
            llama_cpp.llama_memory_seq_rm(self._mem, seq.slot, seq.pos, -1)
            del seq.fed[seq.pos :]

    @staticmethod
    def _put(batch: Any, i: int, token: int, pos: int, seq_id: int, logits: bool) -> None:
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq_id
        batch.logits[i] = logits

    def _logprobs(self, seq: Sequence, token: int) -> list[TokenLogprob]:
        """The model's own log-probabilities (before sampling filters) of the chosen token and
        the ``logprobs`` likeliest ones, when the request asked for them."""
        wanted = seq.request.params.logprobs
        if wanted is None:
            return []
        pointer = llama_cpp.llama_get_logits_ith(self._ctx, seq.logit_index)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).astype(np.float64)
        shifted = logits - logits.max()
        logprobs = shifted - np.log(np.exp(shifted).sum())
        top: tuple[tuple[str, float], ...] = ()
        if wanted:
            best = np.argpartition(-logprobs, wanted - 1)[:wanted]
            best = best[np.argsort(-logprobs[best])]
            top = tuple((self._token_text(int(i)), float(logprobs[i])) for i in best)
        return [TokenLogprob(self._token_text(token), float(logprobs[token]), top)]

    def _accept(
        self,
        seq: Sequence,
        token: int,
        logprobs: list[TokenLogprob],
        step: dict[str, Any] | None = None,
    ) -> bool:
        """Post one sampled token (``step``: its draft fields); False once ``seq`` ended."""
        seq.generated += 1
        self._on_token(1)
        params = seq.request.params
        extra = step or {}
        if token in self._stop_ids or llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
            self._finish(
                seq, TokenEvent(seq.stops.flush(), [token], logprobs, "stop", **extra), True
            )
            return False
        text, stopped = seq.stops.feed(seq.detok.add(token))
        if stopped:
            self._finish(seq, TokenEvent(text, [token], logprobs, "stop", **extra), True)
            return False
        if seq.generated >= params.max_tokens or seq.pos + 1 >= self.n_ctx_per_seq:
            last = TokenEvent(text + seq.stops.flush(), [token], logprobs, "length", **extra)
            self._finish(seq, last, True)
            return False
        seq.out.put(TokenEvent(text, [token], logprobs, **extra))
        seq.next_token = token
        if seq.drafter is not None:
            seq.drafter.extend([token])
        return True

    def _release(self, seq: Sequence, keep_cache: bool = False) -> None:
        """Take ``seq`` out; its slot is free at once. A sequence that finished normally leaves
        its cells as the slot's prompt cache; a cancelled or failed one frees them."""
        if seq in self._active:
            self._active.remove(seq)
        if seq.slot >= 0:
            if keep_cache:
                self._cached[seq.slot] = seq.fed
            else:
                llama_cpp.llama_memory_seq_rm(self._mem, seq.slot, -1, -1)
                self._cached.pop(seq.slot, None)
            self._free_slots.append(seq.slot)
            seq.slot = -1
        free_sampler(seq.sampler)
        seq.sampler = None

    def _finish(self, seq: Sequence, last: TokenEvent, keep_cache: bool = False) -> None:
        with self._cond:
            self._release(seq, keep_cache)
        self._emit_end(seq, last)

    def _fail(self, seq: Sequence, exc: Exception) -> None:
        with self._cond:
            if seq in self._waiting:
                self._waiting.remove(seq)
            self._release(seq)
        seq.out.put(exc)
        seq.out.put(END)

    @staticmethod
    def _emit_end(seq: Sequence, last: TokenEvent) -> None:
        seq.out.put(last)
        seq.out.put(END)
