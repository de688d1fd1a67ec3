"""Dynamic (continuous) batching for the Transformers backend.

One scheduler thread owns the model. Requests are submitted as :class:`Sequence` objects and
join the running batch between decode steps: each is prefilled alone (so its prompt is
processed exactly as it would be without neighbours), merged into the left-padded batch cache,
and from then on every step is one batched forward pass for all running sequences. A sequence
leaves the batch when it finishes, is cancelled or its consumer goes away; the others carry on.

Prefill is chunked: each step spends at most ``prefill_chunk`` prompt tokens of prefill before
the running batch's decode forward, so a long joining prompt delays the running streams by one
chunk per token instead of by the whole prompt (with nothing decoding, a prompt is prefilled
whole). A prompt that starts with blocks kept in the
:class:`PrefixCache` resumes from their KV and prefills only the rest; its full blocks are
stored once its prefill ends. Chunks and cached prefixes are multiples of the prefill
attention's block (``attention.py``), so the result is bit for bit that of a one-shot prefill.

Speculative decoding (docs/speculative.md): with our attention, every decode step is one packed
forward of all rows' new tokens (``kvcache.StepPlan``), so each row may feed its last token plus
draft tokens proposed by its :class:`~app.backends.speculation.Drafter`. Each fed token's
logits are those a plain decode step would give (attention.py), so a row keeps the draft
tokens sampling agrees with (greedy: the argmax; sampled: the speculative-sampling rule in
``sampling.py``), takes one more token from the logits after the last kept one, and the
rejected tokens' keys and values are rolled back (``PaddedBatch.commit``). Prefix-cache blocks
only ever hold prompt KV from a prefill, so no draft token reaches them.

Sampling, stop strings, detokenization and logprobs stay per sequence (own parameters, own
``torch.Generator``), so a seeded or greedy request does not depend on who else is running.
Events go to each sequence's own queue, which ``TransformersBackend.stream`` reads.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from typing import Any

import torch

from app.backends.base import GenerationRequest, TokenEvent, TokenLogprob
from app.backends.speculation import Drafter
from app.backends.text import IncrementalDetokenizer, StopMatcher
from app.backends.transformers.attention import BLOCK, NAME, PLAN, PREFILL
from app.backends.transformers.grammar import RowGrammar
from app.backends.transformers.kvcache import PaddedBatch, new_cache
from app.backends.transformers.prefix_cache import Block, PrefixCache
from app.backends.transformers.sampling import SampledToken, make_generator, sample_next
from app.backends.types import DraftSource
from app.core.errors import GenerationFailed

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Sequence:
    """One request inside the scheduler: its decoding state and its output queue."""

    request: GenerationRequest
    cancel: threading.Event
    events: queue.SimpleQueue[TokenEvent | BaseException] = field(default_factory=queue.SimpleQueue)
    abandoned: bool = False  # the consumer stopped reading
    generated: int = 0
    position: int = 0  # tokens of this sequence in the cache = position of the next input
    # Logits after each token fed in the last forward ([fed, vocab]), waiting to be sampled.
    logits: torch.Tensor | None = None
    fed: int = 0  # tokens this sequence fed in the last packed forward (0: none yet)
    draft: list[int] = field(default_factory=list)  # draft tokens fed after last_token
    draft_source: DraftSource | None = None
    drafter: Drafter | None = None  # speculative decoding is on for this sequence
    last_token: int = 0
    seen: list[int] = field(default_factory=list)
    generator: torch.Generator | None = None
    detok: IncrementalDetokenizer | None = None
    stops: StopMatcher | None = None
    grammar: RowGrammar | None = None  # constrained decoding: masks this row before sampling
    cache: Any = None  # the batch-1 cache while the prompt is being prefilled
    blocks: list[Block] = field(default_factory=list)  # prefix-cache blocks held
    cached_tokens: int = 0  # prompt tokens whose KV came from the prefix cache

    @property
    def cancelled(self) -> bool:
        return self.abandoned or self.cancel.is_set()


class DecodeScheduler:
    """Runs every sequence of one model in one batched decode loop on its own thread."""

    def __init__(
        self,
        model: Any,
        *,
        device: str,
        eos_ids: set[int],
        decode: Callable[[Seq[int]], str],
        token_text: Callable[[int], str],
        max_batch: int,
        on_token: Callable[[], None],
        prefill_chunk: int = 0,
        prefix_cache: PrefixCache | None = None,
    ) -> None:
        self._model = model
        self._device = device
        self._eos_ids = eos_ids
        self._decode = decode
        self._token_text = token_text
        self._max_batch = max_batch
        self._on_token = on_token
        # Prompt tokens prefilled per step (0: a whole prompt at once); a multiple of BLOCK.
        self._chunk = -(-prefill_chunk // BLOCK) * BLOCK if prefill_chunk > 0 else 0
        self.prefix_cache = prefix_cache
        self._prefilling: list[Sequence] = []  # admitted, prompt not fully prefilled yet
        self._num_layers = int(model.config.get_text_config(decoder=True).num_hidden_layers)
        # Only our attention (attention.py) reads the prefill flag; other models get nothing.
        self._packed = model.config._attn_implementation == NAME
        self._prefill_flag = {PREFILL: True} if self._packed else {}
        self._planned = False  # a packed forward's new tokens wait for commit()
        self._waiting: list[Sequence] = []
        self._running: list[Sequence] = []
        self._batch = PaddedBatch(self._num_layers)
        self._wake = threading.Condition()
        self._stopping = False
        self.peak_batch = 0  # the most sequences decoded together so far
        self._thread = threading.Thread(target=self._loop, name="hf-decode", daemon=True)
        self._thread.start()

    @property
    def batch_size(self) -> int:
        """Sequences in the running batch now."""
        return len(self._running)

    # --- called from request threads -----------------------------------------------------------
    def submit(
        self, request: GenerationRequest, cancel: threading.Event, grammar: RowGrammar | None = None
    ) -> Sequence:
        seq = Sequence(request=request, cancel=cancel, grammar=grammar)
        with self._wake:
            if self._stopping:
                raise GenerationFailed("The model was unloaded while the request waited.")
            self._waiting.append(seq)
            self._wake.notify()
        return seq

    def withdraw(self, seq: Sequence) -> bool:
        """Take ``seq`` out of the queue if it has not joined the batch yet."""
        with self._wake:
            if seq in self._waiting:
                self._waiting.remove(seq)
                return True
        return False

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=30)

    # --- the scheduler thread ------------------------------------------------------------------
    def _loop(self) -> None:
        with torch.inference_mode():
            while True:
                with self._wake:
                    while (
                        not self._stopping
                        and not self._waiting
                        and not self._running
                        and not self._prefilling
                    ):
                        self._wake.wait()
                    if self._stopping:
                        break
                    room = self._max_batch - len(self._running) - len(self._prefilling)
                    joining, self._waiting = self._waiting[:room], self._waiting[room:]
                    self._prefilling.extend(joining)
                try:
                    self._step()
                except Exception as exc:  # a failed forward ends every sequence in it
                    log.exception("batched decode step failed")
                    for seq in self._running + self._prefilling:
                        self._release(seq)
                        seq.events.put(exc)
                    self._running = []
                    self._prefilling = []
                    self._batch = PaddedBatch(self._num_layers)
                    self._planned = False
        failure = GenerationFailed("The model was unloaded during generation.")
        for seq in self._running + self._prefilling + self._waiting:
            seq.events.put(failure)

    def _step(self) -> None:
        # Sample the rows of the last forward, then those whose prefill ends in this step.
        self._settle(0)
        joined = len(self._running)
        self._prefill_some()
        self._settle(joined)
        self.peak_batch = max(self.peak_batch, len(self._running))
        if self._running and self._packed:
            self._forward_packed()
        elif self._running:
            self._forward()

    def _settle(self, first: int) -> None:
        """Sample the pending logits of rows ``first`` on; keep the rows that go on. With
        ``first == 0`` after a packed forward, commit each row's accepted tokens."""
        keep: list[int] = []
        kept: list[int] = []
        for row, seq in enumerate(self._running):
            if row < first:
                keep.append(row)
                continue
            count = self._emit(seq)
            if count is not None:
                keep.append(row)
            kept.append(count or 0)
        if first == 0 and self._planned:
            self._batch.commit(kept)
            self._planned = False
        self._running = [self._running[row] for row in keep]
        self._batch.keep(keep)

    def _prefill_some(self) -> None:
        """Spend this step's prefill budget (one chunk) on the prompts waiting, in order.

        With nothing decoding there is no stream to keep going: the first prompt is prefilled
        whole (the same arithmetic, see attention.py, without a step per chunk)."""
        chunk = self._chunk if self._running else 0
        budget = chunk
        while self._prefilling:
            seq = self._prefilling[0]
            if seq.cancelled:
                self._prefilling.pop(0)
                self._release(seq)
                seq.events.put(TokenEvent("", finish_reason="cancelled"))
                continue
            if seq.cache is None:
                self._start_prefill(seq)
            ids = seq.request.prompt_token_ids
            left = len(ids) - seq.position
            take = left if chunk == 0 else min(left, budget)
            if take < left:
                take -= take % BLOCK  # every chunk but a prompt's last starts on a block
            if take == 0:
                return
            self._prefill_chunk(seq, take)
            budget -= take
            if seq.position < len(ids):
                return  # the budget is spent mid-prompt; the decode step comes first
            self._prefilling.pop(0)
            self._finish_prefill(seq)
            if chunk == 0 or budget <= 0:
                return  # one whole prompt per step when nothing was decoding

    def _start_prefill(self, seq: Sequence) -> None:
        request = seq.request
        ids = request.prompt_token_ids
        seq.generator = make_generator(request.params.seed)
        seq.detok = IncrementalDetokenizer(self._decode, ids)
        seq.stops = StopMatcher(request.params.stop)
        seq.seen = list(ids)
        if self._packed and request.speculation.active and seq.grammar is None:
            seq.drafter = Drafter(request.speculation, ids)
        if self.prefix_cache is not None:
            seq.blocks = self.prefix_cache.match(ids)
            seq.cached_tokens = sum(len(b.tokens) for b in seq.blocks)
            seq.cache = self.prefix_cache.restore(
                seq.blocks, self._num_layers, room=len(ids) - seq.cached_tokens
            )
        else:
            seq.cache = new_cache(self._num_layers)
        seq.position = seq.cached_tokens

    def _prefill_chunk(self, seq: Sequence, take: int) -> None:
        start, end = seq.position, seq.position + take
        ids = torch.tensor([seq.request.prompt_token_ids[start:end]], device=self._device)
        positions = torch.arange(start, end, device=self._device)[None]
        out = self._model(
            input_ids=ids,
            position_ids=positions,
            past_key_values=seq.cache,
            logits_to_keep=1,
            **self._prefill_flag,
        )
        seq.logits = out.logits[0, -1:]
        seq.position = end

    def _finish_prefill(self, seq: Sequence) -> None:
        if self.prefix_cache is not None:
            seq.blocks = self.prefix_cache.insert(
                seq.request.prompt_token_ids, seq.cache, seq.blocks
            )
        self._batch.add(seq.cache, seq.position)
        seq.cache = None
        self._running.append(seq)

    def _release(self, seq: Sequence) -> None:
        if self.prefix_cache is not None and seq.blocks:
            self.prefix_cache.release(seq.blocks)
        seq.blocks = []
        seq.cache = None

    def _forward(self) -> None:
        ids = torch.tensor([[s.last_token] for s in self._running], device=self._device)
        positions = torch.tensor([[s.position] for s in self._running], device=self._device)
        mask = self._batch.step_mask().to(self._device)
        out = self._model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=self._batch.cache,
            logits_to_keep=1,
        )
        rows = out.logits[:, -1:]
        for row, seq in enumerate(self._running):
            seq.logits = rows[row]
            seq.position += 1

    def _forward_packed(self) -> None:
        """One forward of every row's last token and draft tokens, packed into one sequence."""
        ids: list[int] = []
        positions: list[int] = []
        counts: list[int] = []
        for seq in self._running:
            if seq.drafter is not None:
                room = seq.request.params.max_tokens - seq.generated - 1
                draft = seq.drafter.propose(room)
                seq.draft, seq.draft_source = draft.tokens, draft.source
            fed = [seq.last_token, *seq.draft]
            ids.extend(fed)
            positions.extend(range(seq.position, seq.position + len(fed)))
            counts.append(len(fed))
            seq.fed = len(fed)
        plan = self._batch.plan(counts)
        self._planned = True
        out = self._model(
            input_ids=torch.tensor([ids], device=self._device),
            position_ids=torch.tensor([positions], device=self._device),
            past_key_values=self._batch.cache,
            logits_to_keep=0,
            **{PLAN: plan},
        )
        logits = out.logits[0]
        offset = 0
        for seq, count in zip(self._running, counts, strict=True):
            seq.logits = logits[offset : offset + count]
            offset += count

    def _emit(self, seq: Sequence) -> int | None:
        """Sample ``seq``'s tokens from its pending logits: its draft tokens as far as sampling
        agrees with them, then one more; post an event per token. Returns how many of the
        tokens it fed in the last packed forward stay in the cache, None once it is done."""
        assert seq.stops is not None and seq.detok is not None and seq.logits is not None
        if seq.cancelled:
            self._end(seq, TokenEvent(seq.stops.flush(), finish_reason="cancelled"))
            return None
        draft, accepted = seq.draft, 0
        for index in range(len(draft) + 1):
            proposal = draft[index] if index < len(draft) else None
            token = self._sample(seq, seq.logits[index], proposal)
            hit = proposal is not None and token.token_id == proposal
            step = TokenEvent(
                "",
                drafted=len(draft) if index == 0 else 0,
                accepted_draft=hit,
                draft_source=seq.draft_source if draft else None,
            )
            if not self._post(seq, token, step):
                return None
            if not hit:
                break
            accepted += 1
        if seq.drafter is not None and draft:
            seq.drafter.length.update(len(draft), accepted)
        kept = 1 + accepted if seq.fed else 0
        seq.position += kept
        seq.fed, seq.draft, seq.draft_source = 0, [], None
        return kept

    def _sample(self, seq: Sequence, logits: torch.Tensor, draft: int | None) -> SampledToken:
        params = seq.request.params
        seen = None
        if params.repetition_penalty != 1.0:
            seen = torch.tensor(seq.seen, dtype=torch.long)
        logits = logits.cpu()
        if seq.grammar is not None:
            # Only this row is masked; free rows of the same step sample unmasked.
            logits = seq.grammar.mask(logits)
        assert seq.generator is not None  # made by prefill
        token = sample_next(logits, params, seen, seq.generator, draft)
        if seq.grammar is not None:
            seq.grammar.accept(token.token_id)
        return token

    def _post(self, seq: Sequence, token: SampledToken, step: TokenEvent) -> bool:
        """Post the event of one sampled token (``step`` carries its draft fields); False
        once the sequence is done."""
        assert seq.stops is not None and seq.detok is not None
        params = seq.request.params
        seq.generated += 1
        self._on_token()
        logprobs = self._logprobs(token, params.logprobs)
        ids = [token.token_id]
        # The first token's event says how much of the prompt the prefix cache served.
        step.token_ids, step.logprobs = ids, logprobs
        step.cached_tokens = seq.cached_tokens if seq.generated == 1 else None
        if token.token_id in self._eos_ids:
            step.text, step.finish_reason = seq.stops.flush(), "stop"
            return self._end(seq, step)
        step.text, stopped = seq.stops.feed(seq.detok.add(token.token_id))
        if stopped:
            step.finish_reason = "stop"
            return self._end(seq, step)
        seq.events.put(step)
        if seq.generated >= params.max_tokens:
            return self._end(seq, TokenEvent(seq.stops.flush(), finish_reason="length"))
        seq.last_token = token.token_id
        seq.seen.append(token.token_id)
        if seq.drafter is not None:
            seq.drafter.extend([token.token_id])
        return True

    def _end(self, seq: Sequence, last: TokenEvent) -> bool:
        """Post ``seq``'s last event, its prefix-cache blocks released first."""
        self._release(seq)
        seq.events.put(last)
        return False

    def _logprobs(self, token: SampledToken, wanted: int | None) -> list[TokenLogprob]:
        if wanted is None:
            return []
        top = tuple((self._token_text(tid), lp) for tid, lp in token.top)
        return [TokenLogprob(self._token_text(token.token_id), token.logprob, top)]
