"""GGUF versions of the test models, made with llama.cpp's own converter and quantizer.

The converter (``convert_hf_to_gguf.py`` with its ``conversion/`` and ``gguf-py/`` folders) ships
inside the llama-cpp-python sdist, not in the wheel; we fetch that sdist once with pip (PyPI is
reachable where the hub is not) and keep just those files under ``models/.cache``. Quantized
files come from ``llama_cpp.llama_model_quantize`` on the f16 file, so no llama.cpp tool has to
be built.

Files written (next to the HF folders they come from):
``tiny-f16.gguf``; ``bench-0.5b-f16.gguf``, ``bench-0.5b-q8_0.gguf``, ``bench-0.5b-q4_0.gguf``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

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
_CONVERTER_PARTS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def converter_dir(models_dir: Path) -> Path:
    """Folder holding llama.cpp's converter for the installed llama-cpp-python version,
    fetched from its sdist on first use."""
    pinned = version("llama_cpp_python")
    target = models_dir / ".cache" / f"llama-cpp-converter-{pinned}"
    if (target / "convert_hf_to_gguf.py").is_file():
        return target
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        log.info("fetching llama-cpp-python %s sdist for llama.cpp's converter", pinned)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"llama-cpp-python=={pinned}",
                "-d",
                tmp,
            ],
            check=True,
        )
        archive = next(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        staging = Path(tmp) / "converter"
        with tarfile.open(archive) as tar:
            prefix = f"{archive.name.removesuffix('.tar.gz')}/vendor/llama.cpp/"
            members = []
            for member in tar.getmembers():
                rel = member.name.removeprefix(prefix)
                if member.name.startswith(prefix) and rel.startswith(_CONVERTER_PARTS):
                    member.name = rel
                    members.append(member)
            tar.extractall(staging, members=members, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "convert_hf_to_gguf.py").is_file():
                raise  # not a concurrent builder that got there first
    return target


def convert(hf_dir: Path, out: Path, outtype: str, models_dir: Path) -> Path:
    """``hf_dir`` -> GGUF ``out`` with llama.cpp's converter (f16, bf16, q8_0, f32)."""
    script = converter_dir(models_dir) / "convert_hf_to_gguf.py"
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")  # one per builder
    subprocess.run(
        [sys.executable, str(script), str(hf_dir), "--outfile", str(partial), "--outtype", outtype],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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
