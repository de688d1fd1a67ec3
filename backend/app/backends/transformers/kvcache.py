"""A left-padded, batched KV cache that sequences can join and leave between decode steps.

Every sequence of a batch shares one tensor per layer, shaped ``[batch, kv_heads, length, dim]``,
with its tokens right-aligned: a shorter sequence has padding on the left, hidden by the 2-D
attention mask. A joining sequence is prefilled alone (batch 1) and then merged in; a finished
one is dropped by row selection and leading columns that only padding uses are trimmed.

Each layer keeps spare capacity along the length axis and writes new tokens in place, so a
decode step costs O(new tokens) instead of the O(length) copy ``DynamicCache``'s ``torch.cat``
makes every step.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicLayer

# Length capacity grows by this factor (at least _MIN_GROW columns) when a layer is full.
_GROWTH = 1.5
_MIN_GROW = 64


class GrowableLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys/values are views into a buffer with spare length."""

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
    """The batch's cache plus its attention mask (``[batch, length]``, 1 = real token)."""

    def __init__(self, num_layers: int) -> None:
        self.num_layers = num_layers
        self.cache: Cache | None = None
        self.mask: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return 0 if self.mask is None else int(self.mask.shape[0])

    def add(self, cache: Cache, length: int) -> None:
        """Append one prefilled sequence (its own batch-1 cache holding ``length`` tokens)."""
        if self.cache is None or self.mask is None:
            self.cache = cache
            self.mask = torch.ones((1, length), dtype=torch.long)
            return
        width = max(self.mask.shape[1], length)
        old_pad = width - self.mask.shape[1]
        new_pad = width - length
        # transformers types cache layers as a union (linear-attention and dummy layers carry
        # no keys/values); the decoder-only models batched here always hold full KV layers.
        mine_layers: list[Any] = list(self.cache.layers)
        their_layers: list[Any] = list(cache.layers)
        for mine, theirs in zip(mine_layers, their_layers, strict=True):
            keys = torch.cat([_pad_left(mine.keys, old_pad), _pad_left(theirs.keys, new_pad)])
            values = torch.cat([_pad_left(mine.values, old_pad), _pad_left(theirs.values, new_pad)])
            mine.replace(keys, values)
        pad = torch.zeros((1, new_pad), dtype=torch.long)
        new_row = torch.cat([pad, torch.ones((1, length), dtype=torch.long)], dim=1)
        old_rows = torch.cat(
            [torch.zeros((self.size, old_pad), dtype=torch.long), self.mask], dim=1
        )
        self.mask = torch.cat([old_rows, new_row])

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in this order); drop columns no remaining row uses."""
        if not rows:
            self.cache = None
            self.mask = None
            return
        assert self.cache is not None and self.mask is not None
        if rows == list(range(self.size)):
            return
        mask = self.mask[rows]
        used = mask.any(dim=0).nonzero()
        start = int(used[0]) if used.numel() else 0
        index = torch.tensor(rows)
        layers: list[Any] = list(self.cache.layers)  # full KV layers (see append)
        for layer in layers:
            layer.replace(
                layer.keys.index_select(0, index)[:, :, start:],
                layer.values.index_select(0, index)[:, :, start:],
            )
        self.mask = mask[:, start:].contiguous()

    def step_mask(self) -> torch.Tensor:
        """The mask for a forward of one new token per row (the cache plus that token)."""
        assert self.mask is not None
        self.mask = torch.cat([self.mask, torch.ones((self.size, 1), dtype=torch.long)], dim=1)
        return self.mask


def _pad_left(tensor: torch.Tensor, pad: int) -> torch.Tensor:
    if pad == 0:
        return tensor
    shape = (*tensor.shape[:2], pad, tensor.shape[-1])
    return torch.cat([tensor.new_zeros(shape), tensor], dim=2)
