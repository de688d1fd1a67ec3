"""Checks that model files are what their names say, by content, without loading weights.

Two depths: :func:`quick_problem` reads a few bytes (GGUF magic, version and counts; the
safetensors header length; config.json parsing) and runs on every scan of the models folder, so
a damaged file is skipped and reported instead of failing listings; :func:`deep_problem` also
parses the whole GGUF header and every safetensors header, and runs once on a finished download
before it becomes a model.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (1, 2, 3)
# A GGUF header declaring more than this many tensors or metadata entries is not a real model.
_MAX_GGUF_ITEMS = 1 << 24
_MAX_ST_HEADER = 100 * 1024 * 1024


def _gguf_quick(path: Path) -> str | None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[:4] != GGUF_MAGIC:
        return "not a GGUF file (the GGUF magic bytes are missing)"
    version, tensors, entries = struct.unpack("<IQQ", head[4:24])
    if version not in GGUF_VERSIONS:
        return f"unsupported GGUF version {version}"
    if tensors > _MAX_GGUF_ITEMS or entries > _MAX_GGUF_ITEMS or tensors + entries > size:
        return "damaged GGUF header (impossible tensor or metadata counts)"
    return None


def _safetensors_quick(path: Path) -> str | None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(9)
    if len(head) < 9:
        return f"{path.name}: too short for a safetensors file"
    (length,) = struct.unpack("<Q", head[:8])
    if length > _MAX_ST_HEADER or 8 + length > size or head[8:9] != b"{":
        return f"{path.name}: not a safetensors file (bad header)"
    return None


def _config_problem(folder: Path) -> str | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return "config.json is not valid JSON"
    if not isinstance(config, dict):
        return "config.json is not a JSON object"
    return None


def quick_problem(path: Path, fmt: str) -> str | None:
    """Why ``path`` (a .gguf file or an HF folder) is not a usable model, or None. Cheap."""
    try:
        if fmt == "gguf":
            return _gguf_quick(path)
        problem = _config_problem(path)
        if problem is not None:
            return problem
        for file in sorted(path.glob("*.safetensors")):
            if (problem := _safetensors_quick(file)) is not None:
                return problem
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    return None


def deep_problem(path: Path, fmt: str) -> str | None:
    """:func:`quick_problem`, plus a full parse of the GGUF header (metadata and tensor table)
    or of every safetensors header. For finished downloads, once."""
    if (problem := quick_problem(path, fmt)) is not None:
        return problem
    try:
        if fmt == "gguf":
            from gguf import GGUFReader

            GGUFReader(path)
            return None
        for file in sorted(path.glob("*.safetensors")):
            with file.open("rb") as fh:
                (length,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(length))
            if not isinstance(header, dict):
                return f"{file.name}: safetensors header is not a JSON object"
    except (ValueError, KeyError, IndexError, struct.error, RecursionError, OSError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return f"damaged model file ({detail})"
    return None
