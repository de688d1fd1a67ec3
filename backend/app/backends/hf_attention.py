"""Row-wise decode attention: what makes a batched request's output bit-identical to its
output alone.

With a left-padded batch, ``sdpa_attention_forward`` gets a padding mask and, for grouped-query
models, takes another SDPA route than a lone request (no mask: ``enable_gqa``; a mask: query
heads packed into the length axis), and the real keys sit at other offsets inside longer
rows. Both change the floating-point reduction order, and in bf16 that flipped a greedy token
of ``bench-0.5b`` after 17 steps. Here each row of a decode step attends over exactly its own
keys (the padding is sliced away, no mask), through the same SDPA call a lone request makes.
The linear layers are batched as before; they are row-invariant (``hf_packing.py``), so every
operation a request sees is the one it would see alone. Prefill (one request at a time in
our scheduler) goes through the stock SDPA path unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "mp_rowwise_sdpa"


def rowwise_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """SDPA per batch row over that row's real keys for one-token steps; stock SDPA else."""
    if query.shape[2] != 1 or attention_mask is None and query.shape[0] == 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    kv_len = key.shape[2]
    if attention_mask is None:
        starts = [0] * query.shape[0]
    else:
        # Boolean mask [batch, 1, 1, kv]: True where the row may attend (a left-padded suffix).
        valid = attention_mask[:, 0, -1, :].sum(dim=-1).tolist()
        starts = [kv_len - int(n) for n in valid]
    outputs = []
    for row, start in enumerate(starts):
        out, _ = sdpa_attention_forward(
            module,
            query[row : row + 1],
            key[row : row + 1, :, start:],
            value[row : row + 1, :, start:],
            None,
            **kwargs,
        )
        outputs.append(out)
    return torch.cat(outputs), None


def register() -> str:
    """Make the attention (and its boolean SDPA mask) selectable by name; return the name."""
    AttentionInterface.register(NAME, rowwise_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
