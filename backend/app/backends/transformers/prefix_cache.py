"""Prefix cache for the Transformers backend: prompt KV kept by token prefix, reused by later
requests that start with the same tokens (a long system prompt, a RAG context, the earlier
turns of a conversation).

A prompt is cut into blocks of :data:`BLOCK_TOKENS` tokens. A block is found by its parent
block and its own tokens (``(parent.id, tokens)``: a radix tree over whole blocks, compared by
value, so there are no hash collisions to worry about) and holds that block's keys and values
for every layer. A new request walks the tree from the root and reuses the longest chain of
blocks that leaves at least one prompt token to prefill (the logits of the last prompt token
must be computed). Only full blocks of prompt tokens are stored, right after a prompt is
prefilled: decode-time KV comes from batched steps and is not what a prefill computes.

Exactness: a block is a multiple of the prefill attention's query block
(``attention.BLOCK``), so prefilling the rest of a prompt after a cached prefix does the
same arithmetic, bit for bit, as prefilling the whole prompt.

Memory: blocks are kept within ``budget_bytes``; when a new block does not fit, the least
recently used blocks that no running request holds are evicted (leaves before their parents).
A request holds (``refs``) the blocks it reused or stored until it leaves the batch. Every
method runs on the scheduler thread that owns the model.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers.cache_utils import Cache

from app.backends.transformers.attention import BLOCK
from app.backends.transformers.kvcache import new_cache

BLOCK_TOKENS = BLOCK

_ids = itertools.count(1)


@dataclass(eq=False)
class Block:
    """``BLOCK_TOKENS`` prompt tokens after ``parent``'s, with their KV for every layer."""

    parent_id: int
    tokens: tuple[int, ...]
    kv: torch.Tensor  # [layers, 2 (keys, values), kv_heads, BLOCK_TOKENS, head_dim]
    id: int = field(default_factory=lambda: next(_ids))
    refs: int = 0

    @property
    def nbytes(self) -> int:
        return self.kv.numel() * self.kv.element_size()


@dataclass
class PrefixCacheStats:
    """Counters for ``health()`` (read from any thread)."""

    blocks: int
    bytes: int
    budget_bytes: int
    in_use: int
    hit_tokens: int
    evicted: int


class PrefixCache:
    """Blocks of prompt KV by token prefix, LRU-evicted within a memory budget."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._blocks: OrderedDict[tuple[int, tuple[int, ...]], Block] = OrderedDict()
        self.bytes = 0
        self._in_use = 0  # blocks with refs > 0 (kept here so other threads can read it)
        self.hit_tokens = 0  # prompt tokens served from the cache so far
        self.evicted = 0

    def stats(self) -> PrefixCacheStats:
        return PrefixCacheStats(
            blocks=len(self._blocks),
            bytes=self.bytes,
            budget_bytes=self.budget_bytes,
            in_use=self.in_use(),
            hit_tokens=self.hit_tokens,
            evicted=self.evicted,
        )

    def in_use(self) -> int:
        """Blocks held by at least one request."""
        return self._in_use

    # --- lookup ----------------------------------------------------------------------------
    def match(self, ids: Sequence[int]) -> list[Block]:
        """The longest cached chain of blocks that is a prefix of ``ids`` and leaves at least
        one token of ``ids`` uncovered; each returned block is held until :meth:`release`."""
        chain: list[Block] = []
        parent = 0
        for start in range(0, len(ids) - 1 - BLOCK_TOKENS + 1, BLOCK_TOKENS):
            block = self._blocks.get((parent, tuple(ids[start : start + BLOCK_TOKENS])))
            if block is None:
                break
            chain.append(block)
            parent = block.id
        self._hold(chain)
        self.hit_tokens += len(chain) * BLOCK_TOKENS
        return chain

    def restore(self, chain: list[Block], num_layers: int, room: int = 0) -> Cache:
        """A fresh batch-1 cache holding the KV of ``chain`` (``room``: tokens to come)."""
        cache = new_cache(num_layers)
        if not chain:
            return cache
        kv = torch.cat([b.kv for b in chain], dim=3)  # [layers, 2, heads, tokens, dim]
        layers: list[Any] = list(cache.layers)  # GrowableLayer (kvcache.py)
        for index, layer in enumerate(layers):
            layer.replace(kv[index, 0][None], kv[index, 1][None], room=room)
        return cache

    # --- storing ---------------------------------------------------------------------------
    def insert(self, ids: Sequence[int], cache: Cache, held: list[Block]) -> list[Block]:
        """Store the full blocks of prompt ``ids`` that ``cache`` (its prefill) holds beyond
        the ``held`` chain it reused; return the blocks now held for that request (``held``
        plus the new or already present ones). Stops when the budget is full of held blocks."""
        chain = list(held)
        parent = chain[-1].id if chain else 0
        layers: list[Any] = list(cache.layers)
        for start in range(len(chain) * BLOCK_TOKENS, len(ids) - BLOCK_TOKENS + 1, BLOCK_TOKENS):
            key = (parent, tuple(ids[start : start + BLOCK_TOKENS]))
            block = self._blocks.get(key)
            if block is None:
                end = start + BLOCK_TOKENS
                kv = torch.stack(
                    [
                        torch.stack([layer.keys[0, :, start:end], layer.values[0, :, start:end]])
                        for layer in layers
                    ]
                )
                block = Block(parent, key[1], kv)
                if not self._make_room(block.nbytes):
                    break
                self._blocks[key] = block
                self.bytes += block.nbytes
            self._ref(block)
            chain.append(block)
            parent = block.id
        self._touch(chain)
        return chain

    def release(self, chain: list[Block]) -> None:
        """The request that held ``chain`` left the batch."""
        for block in chain:
            block.refs -= 1
            if block.refs == 0:
                self._in_use -= 1

    # --- internals -------------------------------------------------------------------------
    def _hold(self, chain: list[Block]) -> None:
        for block in chain:
            self._ref(block)
        self._touch(chain)

    def _ref(self, block: Block) -> None:
        if block.refs == 0:
            self._in_use += 1
        block.refs += 1

    def _touch(self, chain: list[Block]) -> None:
        # Most recently used last; a chain's root ends up newest so leaves are evicted first.
        for block in reversed(chain):
            self._blocks.move_to_end((block.parent_id, block.tokens))

    def _make_room(self, needed: int) -> bool:
        if needed > self.budget_bytes:
            return False
        if self.bytes + needed <= self.budget_bytes:
            return True
        for key in [k for k, b in self._blocks.items() if b.refs == 0]:
            block = self._blocks.pop(key)
            self.bytes -= block.nbytes
            self.evicted += 1
            if self.bytes + needed <= self.budget_bytes:
                return True
        return False
