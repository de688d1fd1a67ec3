"""Row-wise decode attention and block-aligned prefill attention: what makes a request's
output bit-identical alone, in a batch, prefilled in chunks, or resumed from a cached prefix.

Decode. With a left-padded batch, ``sdpa_attention_forward`` gets a padding mask and, for
grouped-query models, takes another SDPA route than a lone request (no mask: ``enable_gqa``; a
mask: query heads packed into the length axis), and the real keys sit at other offsets inside
longer rows. Both change the floating-point reduction order, and in bf16 that flipped a greedy
token of ``bench-0.5b`` after 17 steps. Here each row of a decode step attends over exactly its
own keys (the padding is sliced away, no mask), through the same computation a lone request
makes (:func:`_decode_row`, fp32 matmuls: cheaper than SDPA's CPU kernel for one query).
The linear layers are batched as before; they are row-invariant (``packing.py``), so every
operation a request sees is the one it would see alone.

Prefill (batch 1: the scheduler prefills one request at a time). The queries are cut at
absolute positions that are multiples of :data:`BLOCK`, and each block of queries ``[a, b)``
attends over keys ``[0, b)`` with its own causal mask, in one SDPA call of that exact shape.
The arithmetic for a query then depends only on its block, never on where a chunk started or
how long the prompt is: a prompt prefilled in one go, in chunks (a multiple of ``BLOCK`` long)
or after a cached prefix (a multiple of ``BLOCK`` long) gets the same keys, values and logits,
bit for bit. Stock SDPA (causal over the whole chunk) does not: on ``bench-0.5b`` in bf16 a
900-token prompt prefilled in 64-token chunks changed the last layer's keys and the greedy token.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from app.backends.transformers.kvcache import StepPlan

NAME = "mp_rowwise_sdpa"
# Keyword the scheduler passes through the model's forward on prefill calls: a one-token prefill
# (a prompt one token past its cached blocks, a chunk's one-token tail) is shaped like a decode
# step, but must take the prefill's arithmetic to stay bit-identical to a one-shot prefill.
PREFILL = "mp_prefill"
# Keyword carrying a packed step's :class:`StepPlan` (kvcache.py) to the attention: the
# running batch's new tokens, every row's last token and draft tokens, as one sequence.
PLAN = "mp_plan"
# Query block of prefill attention; prefill chunks and cached prefixes are multiples of it.
BLOCK = 32


def rowwise_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention per batch row over that row's real keys for one-token steps, block-aligned
    causal SDPA for a batch-1 prefill, stock SDPA else."""
    prefill = bool(kwargs.pop(PREFILL, False))
    plan: StepPlan | None = kwargs.pop(PLAN, None)
    if plan is not None:
        return _packed_rows(module, query, key, value, plan, kwargs), None
    if query.shape[2] != 1 or prefill:
        if query.shape[0] == 1:
            return _blocked_prefill(module, query, key, value, **kwargs), None
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    one_query = _decode_row if _plain_attention(kwargs) else None
    kv_len = key.shape[2]
    if attention_mask is None:
        starts = [0] * query.shape[0]
    else:
        # Boolean mask [batch, 1, 1, kv]: True where the row may attend (a left-padded suffix).
        valid = attention_mask[:, 0, -1, :].sum(dim=-1).tolist()
        starts = [kv_len - int(n) for n in valid]
    outputs = []
    for row, start in enumerate(starts):
        q = query[row : row + 1]
        k, v = key[row : row + 1, :, start:], value[row : row + 1, :, start:]
        if one_query is not None:
            outputs.append(one_query(q, k, v, kwargs.get("scaling")))
        else:
            outputs.append(sdpa_attention_forward(module, q, k, v, None, **kwargs)[0])
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs), None


def _packed_rows(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    plan: StepPlan,
    kwargs: dict[str, Any],
) -> torch.Tensor:
    """A packed step: each query over its own row's keys up to its own position, computed as
    the one-query decode step it would be without the others (draft tokens included: the
    logits that verify a draft token are those a plain decode step would have given)."""
    one_query = _decode_row if _plain_attention(kwargs) else None
    outputs = []
    offset = 0
    for row, (start, at, count) in enumerate(zip(plan.starts, plan.ats, plan.counts, strict=True)):
        for j in range(count):
            q = query[:, :, offset + j : offset + j + 1]
            k = key[row : row + 1, :, start : at + j + 1]
            v = value[row : row + 1, :, start : at + j + 1]
            if one_query is not None:
                outputs.append(one_query(q, k, v, kwargs.get("scaling")))
            else:
                outputs.append(sdpa_attention_forward(module, q, k, v, None, **kwargs)[0])
        offset += count
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)


def _plain_attention(kwargs: dict[str, Any]) -> bool:
    """Whether the layer is plain scaled dot-product attention (no soft-capping, no attention
    sinks, no dropout), which :func:`_decode_row` computes."""
    extras = ("softcap", "s_aux", "sinks")
    return not any(kwargs.get(name) is not None for name in extras) and not kwargs.get("dropout")


def _decode_row(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    scaling: float | None,
) -> torch.Tensor:
    """One query of one row over its keys, in fp32: ``softmax(q k^T * scale) v``.

    Why not SDPA: for a single query the CPU flash kernel costs 85 us with 60 keys and 710 us
    with 900 (bench-0.5b's shapes, 2 threads), where these three fp32 ops take 31 and 83 us; at
    24 layers that is 17 ms of a ~50 ms step at 900 tokens of context. Query heads are grouped
    by the key head they share (head ``h`` uses key head ``h // groups``, as ``repeat_kv``
    orders them), so grouped-query attention needs no repeated keys.
    """
    heads, dim, kv_heads = query.shape[1], query.shape[-1], key.shape[1]
    scale = scaling if scaling is not None else dim**-0.5
    q = query.reshape(kv_heads, heads // kv_heads, dim).float()
    scores = torch.matmul(q, key[0].float().transpose(-1, -2)).mul_(scale)
    probs = torch.softmax(scores, dim=-1)
    out = torch.matmul(probs, value[0].float()).to(query.dtype)
    # [kv, groups, dim] -> [batch 1, q_len 1, heads, dim], the layout SDPA's wrapper returns.
    return out.reshape(1, 1, heads, value.shape[-1])


def _blocked_prefill(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    **kwargs: Any,
) -> torch.Tensor:
    """Causal attention of the last ``q_len`` positions of an unpadded batch-1 sequence."""
    q_len, kv_len = query.shape[2], key.shape[2]
    first = kv_len - q_len  # absolute position of the chunk's first query
    outputs = []
    start = first
    while start < kv_len:
        end = min(kv_len, (start // BLOCK + 1) * BLOCK)
        # Block [start, end) of queries over keys [0, end): the query at p sees keys <= p.
        rows = torch.arange(start, end, device=query.device)[:, None]
        cols = torch.arange(end, device=query.device)[None, :]
        mask = (cols <= rows)[None, None]
        out, _ = sdpa_attention_forward(
            module,
            query[:, :, start - first : end - first],
            key[:, :, :end],
            value[:, :, :end],
            mask,
            **kwargs,
        )
        outputs.append(out)  # [1, block, heads, dim]
        start = end
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)


def register() -> str:
    """Make the attention (and its boolean SDPA mask) selectable by name; return the name."""
    AttentionInterface.register(NAME, rowwise_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
