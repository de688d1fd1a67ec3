"""oneDNN weight pre-packing for bf16 ``nn.Linear`` layers on CPU.

Decoding reads every weight once per step with a handful of rows of input. PyTorch's eager
``F.linear`` on a bf16 CPU tensor builds a oneDNN matmul around the plain (row-major) weight on
every call; reordering each weight once into oneDNN's blocked layout and calling the packed
kernel (what ``torch.compile``'s freezing pass does, without the compile) made the matrix-vector
products 1.2-2x faster here, with bit-identical results for each row regardless of how many rows
are batched together (for the shapes where oneDNN's one-row kernel differs, a lone row is
computed as two, see :meth:`PackedLinear.forward`; checked by ``test_packing.py``). The
packed copy replaces the original weight, so memory stays the same.
"""

from __future__ import annotations

import functools
import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


class PackedLinear(nn.Module):
    """A bias-optional linear layer whose weight lives in oneDNN's packed layout.

    ``pad_single_row``: compute a lone row as two (see :meth:`forward`); None probes whether
    this shape needs it (:meth:`one_row_agrees`).
    """

    def __init__(self, linear: nn.Linear, pad_single_row: bool | None = None) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        weight = linear.weight.detach()
        # The batch-size hint only picks the packed layout; any row count works afterwards.
        self.register_buffer("packed", torch.ops.mkldnn._reorder_linear_weight(weight, 1))
        self.bias = None if linear.bias is None else linear.bias.detach()
        self.weight_bytes = weight.numel() * weight.element_size()
        self.dtype = weight.dtype
        if pad_single_row is None:
            pad_single_row = not self.one_row_agrees()
        self.pad_single_row = pad_single_row

    def _matmul(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(rows, self.packed, self.bias, "none", [], "")

    def one_row_agrees(self, rows: int = 32) -> bool:
        """Whether oneDNN's kernel for one row gives each row the bits the kernel for several
        rows gives it, on MLP-like activations (a seeded probe). Where the kernels differ, a
        few outputs in ten thousand differ (13 of 28,672 for bench-0.5b's down_proj): 32 rows
        of its 896 outputs expect 13 differences, and miss them all with a chance of ~2e-6."""
        gen = torch.Generator().manual_seed(0)
        shape = (rows, self.in_features)
        probe = nn.functional.silu(torch.randn(shape, generator=gen) * 2)
        probe = (probe * torch.randn(shape, generator=gen)).to(self.dtype)
        with torch.inference_mode():
            batch = self._matmul(probe)
            return all(
                torch.equal(self._matmul(probe[row : row + 1])[0], batch[row])
                for row in range(rows)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        single = self.pad_single_row and rows.shape[0] == 1
        if single:
            # oneDNN computes one row with another kernel than two or more (a matrix-vector
            # product), and for some shapes its bits differ: on bench-0.5b's down_proj
            # (K=4864) 1 of 896 outputs differed in the last bit, enough to change a greedy
            # token, so a lone request did not decode as it does beside others. Every row count
            # from 2 up gives the same bits per row. Only shapes whose probe disagrees pay for
            # it: padding every layer made bench-0.5b's batch-1 step 15% slower, padding the
            # down_proj alone cost nothing measurable (its weight read is the whole cost).
            rows = rows.expand(2, -1)
        if not rows.is_contiguous():
            rows = rows.contiguous()
        out = self._matmul(rows)
        if single:
            out = out[:1]
        return out.reshape(*x.shape[:-1], self.out_features)


def can_pack(model: nn.Module) -> str | None:
    """Why packing does not apply to ``model`` (None when it does)."""
    if not torch.backends.mkldnn.is_available():
        return "PyTorch was built without oneDNN"
    param = next(model.parameters())
    if param.device.type != "cpu" or param.dtype != torch.bfloat16:
        return f"only bf16 on CPU ({param.dtype} on {param.device.type})"
    return _reorder_unsupported()


@functools.cache
def _reorder_unsupported() -> str | None:
    """Why oneDNN cannot pack a bf16 weight on this CPU (None when it can). Builds with
    oneDNN still refuse at run time on CPUs without AVX-512 ("bf16 path needs the cpu support
    avx_ne_convert or avx512bw, avx512vl and avx512dq"), so try it once on a small weight."""
    try:
        torch.ops.mkldnn._reorder_linear_weight(torch.zeros(16, 16, dtype=torch.bfloat16), 1)
    except RuntimeError as exc:
        return str(exc).splitlines()[0]
    return None


def _agrees(linear: nn.Linear, packed: PackedLinear) -> bool:
    probe = torch.randn(3, linear.in_features, dtype=linear.weight.dtype)
    with torch.inference_mode():
        want, got = linear(probe).float(), packed(probe).float()
    return bool(torch.allclose(want, got, rtol=2e-2, atol=2e-2))


def pack_linears(model: nn.Module) -> int:
    """Replace every ``nn.Linear`` of ``model`` by a :class:`PackedLinear`; return how many.

    Checks the first layer against ``F.linear`` and packs nothing if they disagree, so an
    unexpected oneDNN build falls back to the eager path instead of decoding garbage.
    """
    targets = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if type(child) is nn.Linear
    ]
    if not targets:
        return 0
    try:
        first = PackedLinear(targets[0][2], pad_single_row=False)
        if not _agrees(targets[0][2], first):
            log.warning("oneDNN packed linear disagrees with F.linear; not packing")
            return 0
    except RuntimeError as exc:  # op missing or unsupported on this CPU
        log.warning("oneDNN weight packing unavailable: %s", exc)
        return 0
    # The kernel oneDNN picks depends on the shape, not the values: probe each shape once.
    agrees: dict[tuple[int, int, bool], bool] = {}
    padded = 0
    for index, (parent, name, child) in enumerate(targets):
        packed = first if index == 0 else PackedLinear(child, pad_single_row=False)
        shape = (child.in_features, child.out_features, child.bias is not None)
        if shape not in agrees:
            agrees[shape] = packed.one_row_agrees()
        packed.pad_single_row = not agrees[shape]
        padded += packed.pad_single_row
        setattr(parent, name, packed)
    if padded:
        log.info(
            "%d of %d packed linears compute a lone row as two (exactness)", padded, len(targets)
        )
    _own_remaining_tensors(model)
    return len(targets)


def _own_remaining_tensors(model: nn.Module) -> None:
    """Copy what is left (embeddings, norms) out of the safetensors memory map.

    Loaded weights are views of the mmapped checkpoint; one surviving view keeps the whole
    file mapped, and every page the packing read stays in the process's RSS (0.85 GB of
    ``RssFile`` for bench-0.5b) although the packed copies replaced those weights.
    """
    with torch.no_grad():
        for param in model.parameters():
            param.data = param.data.clone()
        for module in model.modules():
            for name, buffer in list(module.named_buffers(recurse=False)):
                if buffer is not None and not buffer.is_mkldnn:
                    setattr(module, name, buffer.clone())
