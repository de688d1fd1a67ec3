"""A left-padded, batched KV cache that sequences can join and leave between decode steps.

Every sequence of a batch shares one tensor per layer, shaped ``[batch, kv_heads, length, dim]``,
with its tokens right-aligned: a shorter sequence has padding on the left, hidden by the 2-D
attention mask. A joining sequence is prefilled alone (batch 1) and then merged in; a finished
one is dropped by row selection and leading columns that only padding uses are trimmed.

Each layer keeps spare capacity along the length axis and writes new tokens in place, so a
decode step costs O(new tokens) instead of the O(length) copy ``DynamicCache``'s ``torch.cat``
makes every step.

Rows may also end at different columns (ragged on the right). With our attention
(``attention.py``) a step is one packed forward (:class:`StepPlan`): each row feeds its own
number of tokens (its last token and any draft tokens, speculative decoding), written right
after that row's end; after verification each row keeps only its accepted tokens
(:meth:`PaddedBatch.commit`), which rolls the rejected ones back: they lie past the row's end,
are never attended to and are overwritten by its next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicLayer

# Length capacity grows by this factor (at least _MIN_GROW columns) when a layer is full.
_GROWTH = 1.5
_MIN_GROW = 64


@dataclass
class StepPlan:
    """One packed forward of the running batch: the input is one sequence holding every row's
    new tokens in row order; row ``r`` has real keys in columns ``[starts[r], ats[r])`` and
    writes its ``counts[r]`` new tokens at ``ats[r]``."""

    starts: list[int]
    ats: list[int]
    counts: list[int]

    @property
    def uniform(self) -> bool:
        """Every row writes as many tokens at the same column (one copy does them all)."""
        return len(set(self.ats)) == 1 and len(set(self.counts)) == 1


class GrowableLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys/values are views into a buffer with spare length."""

    plan: StepPlan | None = None  # set by PaddedBatch for a packed step

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._kbuf: torch.Tensor | None = None
        self._vbuf: torch.Tensor | None = None
        self._len = 0

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        if self.plan is not None:
            return self._write_rows(self.plan, key_states, value_states)
        new = key_states.shape[-2]
        end = self._len + new
        if self._kbuf is None or end > self._kbuf.shape[-2]:
            self._reserve(key_states, value_states, end)
        assert self._kbuf is not None and self._vbuf is not None
        self._kbuf[:, :, self._len : end].copy_(key_states)
        self._vbuf[:, :, self._len : end].copy_(value_states)
        self._len = end
        self.keys = self._kbuf[:, :, :end]
        self.values = self._vbuf[:, :, :end]
        return self.keys, self.values

    def _write_rows(
        self, plan: StepPlan, key_states: torch.Tensor, value_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write a packed step's tokens (``[1, heads, sum(counts), dim]``) row by row."""
        end = max(at + n for at, n in zip(plan.ats, plan.counts, strict=True))
        assert self._kbuf is not None and self._vbuf is not None  # a batch holds a prefill
        if end > self._kbuf.shape[-2]:
            self._reserve(self._kbuf, self._vbuf, end)
        if plan.uniform:
            rows, at, n = len(plan.ats), plan.ats[0], plan.counts[0]
            shape = (key_states.shape[1], rows, n, key_states.shape[-1])
            self._kbuf[:, :, at : at + n].copy_(key_states[0].reshape(shape).transpose(0, 1))
            self._vbuf[:, :, at : at + n].copy_(value_states[0].reshape(shape).transpose(0, 1))
        else:
            offset = 0
            for row, (at, n) in enumerate(zip(plan.ats, plan.counts, strict=True)):
                piece = slice(offset, offset + n)
                self._kbuf[row, :, at : at + n].copy_(key_states[0, :, piece])
                self._vbuf[row, :, at : at + n].copy_(value_states[0, :, piece])
                offset += n
        self._len = max(self._len, end)
        self.keys = self._kbuf[:, :, : self._len]
        self.values = self._vbuf[:, :, : self._len]
        return self.keys, self.values

    def truncate(self, length: int) -> None:
        """Forget every column from ``length`` on (rolled-back tokens)."""
        assert self._kbuf is not None and self._vbuf is not None
        self._len = length
        self.keys = self._kbuf[:, :, :length]
        self.values = self._vbuf[:, :, :length]

    def _reserve(self, like_k: torch.Tensor, like_v: torch.Tensor, needed: int) -> None:
        capacity = max(needed + _MIN_GROW, int(needed * _GROWTH))
        kbuf = like_k.new_zeros((*like_k.shape[:2], capacity, like_k.shape[-1]))
        vbuf = like_v.new_zeros((*like_v.shape[:2], capacity, like_v.shape[-1]))
        if self._kbuf is not None and self._vbuf is not None and self._len:
            kbuf[:, :, : self._len].copy_(self._kbuf[:, :, : self._len])
            vbuf[:, :, : self._len].copy_(self._vbuf[:, :, : self._len])
        self._kbuf, self._vbuf = kbuf, vbuf

    def replace(self, keys: torch.Tensor, values: torch.Tensor, room: int = 0) -> None:
        """Make ``keys``/``values`` (full length, any batch) this layer's whole content, with
        space for at least ``room`` more tokens before the buffer has to grow."""
        if not self.is_initialized:
            self.lazy_initialization(keys, values)
        self._kbuf = self._vbuf = None
        self._len = 0
        if room:
            self._reserve(keys, values, keys.shape[-2] + room)
        self.update(keys, values)

    def get_seq_length(self) -> int:
        return self._len if self.is_initialized else 0


def new_cache(num_layers: int) -> Cache:
    """An empty cache of :class:`GrowableLayer` for one model."""
    return Cache(layers=[GrowableLayer() for _ in range(num_layers)])


class PaddedBatch:
    """The batch's cache plus each row's real columns: row ``r`` holds its tokens in
    ``[starts[r], ends[r])``, with padding on its left and, after a speculative step, rolled-back
    columns on its right."""

    def __init__(self, num_layers: int) -> None:
        self.num_layers = num_layers
        self.cache: Cache | None = None
        self.starts: list[int] = []
        self.ends: list[int] = []

    @property
    def size(self) -> int:
        return len(self.starts)

    @property
    def width(self) -> int:
        return max(self.ends, default=0)

    def _layers(self) -> list[Any]:
        # transformers types cache layers as a union (linear-attention and dummy layers carry
        # no keys/values); the decoder-only models batched here always hold full KV layers.
        assert self.cache is not None
        return list(self.cache.layers)

    def add(self, cache: Cache, length: int) -> None:
        """Append one prefilled sequence (its own batch-1 cache holding ``length`` tokens)."""
        if self.cache is None:
            self.cache = cache
            self.starts, self.ends = [0], [length]
            return
        width = self.width
        for layer in self._layers():
            layer.truncate(width)
        new_width = max(width, length)
        old_pad, new_pad = new_width - width, new_width - length
        theirs_layers: list[Any] = list(cache.layers)  # full KV layers (see _layers)
        for mine, theirs in zip(self._layers(), theirs_layers, strict=True):
            keys = torch.cat([_pad_left(mine.keys, old_pad), _pad_left(theirs.keys, new_pad)])
            values = torch.cat([_pad_left(mine.values, old_pad), _pad_left(theirs.values, new_pad)])
            mine.replace(keys, values)
        self.starts = [s + old_pad for s in self.starts] + [new_pad]
        self.ends = [e + old_pad for e in self.ends] + [new_width]

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in this order); drop columns no remaining row uses."""
        if not rows:
            self.cache = None
            self.starts, self.ends = [], []
            return
        if rows == list(range(self.size)):
            return
        starts = [self.starts[r] for r in rows]
        ends = [self.ends[r] for r in rows]
        first, last = min(starts), max(ends)
        index = torch.tensor(rows)
        for layer in self._layers():
            layer.replace(
                layer.keys.index_select(0, index)[:, :, first:last],
                layer.values.index_select(0, index)[:, :, first:last],
            )
        self.starts = [s - first for s in starts]
        self.ends = [e - first for e in ends]

    def step_mask(self) -> torch.Tensor:
        """The mask for a forward of one new token per row (the cache plus that token), for
        models without our attention; their rows always end together (no packed steps)."""
        width = self.width
        assert all(end == width for end in self.ends)
        columns = torch.arange(width + 1)[None, :]
        mask = (columns >= torch.tensor(self.starts)[:, None]).long()
        self.ends = [width + 1] * self.size
        return mask

    def plan(self, counts: list[int]) -> StepPlan:
        """Start a packed step in which row ``r`` feeds ``counts[r]`` tokens."""
        plan = StepPlan(list(self.starts), list(self.ends), counts)
        for layer in self._layers():
            layer.plan = plan
        return plan

    def commit(self, kept: list[int]) -> None:
        """End the packed step: row ``r`` keeps the first ``kept[r]`` of its new tokens; the
        others (rejected drafts) are rolled back."""
        plan = self._layers()[0].plan
        assert plan is not None
        self.ends = [at + n for at, n in zip(plan.ats, kept, strict=True)]
        width = self.width
        for layer in self._layers():
            layer.plan = None
            layer.truncate(width)


def _pad_left(tensor: torch.Tensor, pad: int) -> torch.Tensor:
    if pad == 0:
        return tensor
    shape = (*tensor.shape[:2], pad, tensor.shape[-1])
    return torch.cat([tensor.new_zeros(shape), tensor], dim=2)
