"""The Transformers backend's decode attention (attention.py) against PyTorch's SDPA."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.nn.functional import scaled_dot_product_attention

from app.backends.transformers import attention as hf_attention
from app.backends.transformers.attention import rowwise_attention


class _Layer(torch.nn.Module):
    """What transformers' attention functions read from the layer calling them."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.num_key_value_groups = groups
        self.is_causal = True
        self.training = False


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_one_query_per_row_matches_sdpa_over_that_rows_keys(dtype: torch.dtype) -> None:
    """Grouped-query decode step of a left-padded batch: each row attends over its own keys."""
    torch.manual_seed(0)
    heads, kv_heads, dim, length = 14, 2, 64, 40
    query = torch.randn(3, heads, 1, dim, dtype=dtype)
    key = torch.randn(3, kv_heads, length, dim, dtype=dtype)
    value = torch.randn(3, kv_heads, length, dim, dtype=dtype)
    valid = [40, 25, 7]  # real keys per row, right-aligned (left padding)
    mask = torch.zeros(3, 1, 1, length, dtype=torch.bool)
    for row, n in enumerate(valid):
        mask[row, ..., length - n :] = True
    out, _ = rowwise_attention(_Layer(heads // kv_heads), query, key, value, mask, scaling=0.2)
    assert out.shape == (3, 1, heads, dim)
    for row, n in enumerate(valid):
        want = scaled_dot_product_attention(
            query[row : row + 1].float(),
            key[row : row + 1, :, length - n :].float(),
            value[row : row + 1, :, length - n :].float(),
            scale=0.2,
            enable_gqa=True,
        ).transpose(1, 2)
        tol = 1e-5 if dtype == torch.float32 else 1e-2
        torch.testing.assert_close(out[row : row + 1].float(), want, rtol=tol, atol=tol)
        # The row's result is the same alone: no neighbour changes a bit.
        alone, _ = rowwise_attention(
            _Layer(heads // kv_heads),
            query[row : row + 1],
            key[row : row + 1, :, length - n :],
            value[row : row + 1, :, length - n :],
            None,
            scaling=0.2,
        )
        assert torch.equal(alone, out[row : row + 1])


def test_soft_capped_attention_keeps_transformers_sdpa(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers with extras the fp32 path does not compute (here soft-capping) are left to SDPA."""
    torch.manual_seed(0)
    query = torch.randn(1, 4, 1, 32)
    key, value = torch.randn(1, 2, 9, 32), torch.randn(1, 2, 9, 32)
    calls: list[str] = []
    original = hf_attention.sdpa_attention_forward

    def spy(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, None]:
        calls.append("sdpa")
        kwargs.pop("softcap", None)
        return original(*args, **kwargs)

    monkeypatch.setattr(hf_attention, "sdpa_attention_forward", spy)
    rowwise_attention(_Layer(2), query, key, value, None, scaling=0.1, softcap=30.0)
    rowwise_attention(_Layer(2), query, key, value, None, scaling=0.1)
    assert calls == ["sdpa"]
