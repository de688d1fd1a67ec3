"""Facts about model files read without loading them: parameter count and quantization.

safetensors files start with a JSON header listing every tensor's dtype and shape, so counting
parameters costs one small read per file. GGUF files are read with the ``gguf`` package (memory
mapped: only the header and tensor table are touched). Results are cached by path, size and
modification time, since the catalog asks on every listing.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

_ST_DTYPES = {
    "BF16": "bf16",
    "F16": "f16",
    "F32": "f32",
    "F64": "f64",
    "F8_E4M3": "fp8",
    "F8_E5M2": "fp8",
    "I8": "int8",
    "U8": "uint8",
}


@dataclass(frozen=True)
class ModelFacts:
    parameters: int | None = None
    quantization: str | None = None


def inspect_model(path: Path, fmt: str) -> ModelFacts:
    """Parameters and quantization of a local model (None where unreadable)."""
    try:
        target = path.resolve()
        stat = target.stat()
        return _inspect_cached(str(target), fmt, stat.st_size, stat.st_mtime_ns)
    except OSError:
        return ModelFacts()


@lru_cache(maxsize=256)
def _inspect_cached(path: str, fmt: str, size: int, mtime_ns: int) -> ModelFacts:
    try:
        if fmt == "gguf":
            return _gguf_facts(Path(path))
        if fmt == "hf":
            return _hf_facts(Path(path))
    except Exception as exc:  # a damaged file must not break the catalog
        log.warning("cannot read %s: %s", path, exc)
    return ModelFacts()


def read_safetensors_header(path: Path) -> dict[str, object]:
    with path.open("rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        if length > 100 * 1024 * 1024:
            raise ValueError("safetensors header too large")
        return json.loads(fh.read(length))


def _hf_facts(folder: Path) -> ModelFacts:
    params = 0
    dtypes: dict[str, int] = {}
    for file in sorted(folder.glob("*.safetensors")):
        for name, info in read_safetensors_header(file).items():
            if name == "__metadata__" or not isinstance(info, dict):
                continue
            count = math.prod(info.get("shape", []))
            params += count
            dtype = str(info.get("dtype", ""))
            dtypes[dtype] = dtypes.get(dtype, 0) + count
    quant = None
    config_path = folder / "config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        qconf = config.get("quantization_config")
        if isinstance(qconf, dict):
            quant = str(qconf.get("quant_method") or "quantized")
    if quant is None and dtypes:
        main = max(dtypes, key=lambda d: dtypes[d])
        quant = _ST_DTYPES.get(main, main.lower())
    return ModelFacts(params or None, quant)


def _gguf_facts(path: Path) -> ModelFacts:
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(path)
    params = sum(int(t.n_elements) for t in reader.tensors) or None
    quant = None
    field = reader.get_field("general.file_type")
    if field is not None:
        value = int(field.parts[field.data[0]][0])
        try:
            quant = LlamaFileType(value).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            quant = f"type {value}"
    return ModelFacts(params, quant)


def model_family(path: Path, fmt: str) -> str:
    """The architecture a model declares (GGUF header, HF ``model_type``), else 'unknown'."""
    if fmt == "gguf":
        from app.backends.gguf_info import read_gguf

        try:
            return str(read_gguf(path).get("architecture") or "unknown")
        except Exception:  # a damaged header must not fail a listing
            return "unknown"
    if fmt == "hf":
        try:
            return str(json.loads((path / "config.json").read_text()).get("model_type"))
        except (OSError, ValueError):
            return "unknown"
    return fmt


def chat_template_text(path: Path, fmt: str) -> str:
    """The chat template a model ships ('' when none or unreadable)."""
    if fmt == "gguf":
        from app.backends.gguf_info import read_gguf

        try:
            return str(read_gguf(path).get("chat_template") or "")
        except Exception:  # a damaged header must not fail /api/show
            return ""
    jinja = path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    try:
        config = json.loads((path / "tokenizer_config.json").read_text())
        return str(config.get("chat_template") or "")
    except (OSError, ValueError):
        return ""
