"""GGUF versions of the test models, made with llama.cpp's own converter and quantizer.

The converter is fetched from the llama-cpp-python sdist on first use
(:mod:`app.services.quantize.llama`, which the server's quantize jobs share). Quantized
files come from ``llama_cpp.llama_model_quantize`` on the f16 file, so no llama.cpp tool has to
be built.

Files written (next to the HF folders they come from):
``tiny-f16.gguf``; ``bench-0.5b-f16.gguf``, ``bench-0.5b-q8_0.gguf``, ``bench-0.5b-q4_0.gguf``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from app.services.quantize.llama import convert_command, run_checked

log = logging.getLogger(__name__)

# GGUF files per HF test model: (file name, how it is made).
GGUF_VARIANTS: dict[str, list[tuple[str, str]]] = {
    "tiny": [("tiny-f16.gguf", "f16")],
    "bench-0.5b": [
        ("bench-0.5b-f16.gguf", "f16"),
        ("bench-0.5b-q8_0.gguf", "q8_0"),
        ("bench-0.5b-q4_0.gguf", "q4_0"),
    ],
}


def convert(hf_dir: Path, out: Path, outtype: str, models_dir: Path) -> Path:
    """``hf_dir`` -> GGUF ``out`` with llama.cpp's converter (f16, bf16, q8_0, f32)."""
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")  # one per builder
    run_checked(convert_command(hf_dir, partial, outtype, models_dir))
    partial.rename(out)
    return out


def quantize(src: Path, out: Path, kind: str) -> Path:
    """Quantize a GGUF file with llama.cpp's library (q4_0, q4_k_m, q8_0...)."""
    import llama_cpp

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind.upper()}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")  # one per builder
    code = llama_cpp.llama_model_quantize(str(src).encode(), str(partial).encode(), params)
    if code != 0:
        raise RuntimeError(f"llama_model_quantize failed ({code}) for {out.name}")
    partial.rename(out)
    return out


def _newer(gguf: Path, hf_dir: Path) -> bool:
    """Whether ``gguf`` was written after the HF model it comes from (else it is stale)."""
    weights = hf_dir / "model.safetensors"
    return not weights.is_file() or gguf.stat().st_mtime >= weights.stat().st_mtime


def make_gguf(name: str, models_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the GGUF files of HF test model ``name`` (already built in ``models_dir``)."""
    hf_dir = models_dir / name
    written: list[Path] = []
    f16: Path | None = None
    for filename, kind in GGUF_VARIANTS.get(name, []):
        out = models_dir / filename
        if kind == "f16":
            f16 = out
        if out.is_file() and not force and _newer(out, hf_dir):
            written.append(out)
            continue
        started = time.perf_counter()
        if kind in ("f16", "q8_0", "bf16", "f32"):
            convert(hf_dir, out, kind, models_dir)
        else:
            assert f16 is not None, "the f16 file comes first"
            quantize(f16, out, kind)
        log.info("wrote %s in %.1f s", out.name, time.perf_counter() - started)
        written.append(out)
    return written
