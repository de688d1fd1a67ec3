"""``MP_DTYPE=auto`` on a CPU: an fp32 checkpoint stays fp32; others take bf16 only where the
CPU computes it natively."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backends.transformers.backend import pick_cpu_dtype, saved_dtype


@pytest.mark.parametrize(
    ("saved", "native", "expected"),
    [
        ("fp32", True, "fp32"),
        ("fp32", False, "fp32"),
        ("bf16", True, "bf16"),
        ("bf16", False, "fp32"),
        ("fp16", True, "bf16"),
        ("fp16", False, "fp32"),
        (None, True, "bf16"),
        (None, False, "fp32"),
    ],
)
def test_auto_dtype_on_a_cpu(saved: str | None, native: bool, expected: str) -> None:
    assert pick_cpu_dtype(saved, native) == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"dtype": "float32"}, "fp32"),
        ({"torch_dtype": "bfloat16"}, "bf16"),  # transformers 4.x writes torch_dtype
        ({"dtype": "float16"}, "fp16"),
        ({}, None),
        ([], None),
    ],
)
def test_saved_dtype_reads_the_config(tmp_path: Path, config: object, expected: str | None):
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert saved_dtype(tmp_path) == expected


def test_saved_dtype_of_a_folder_without_config(tmp_path: Path) -> None:
    assert saved_dtype(tmp_path) is None
    (tmp_path / "config.json").write_text("{not json")
    assert saved_dtype(tmp_path) is None
