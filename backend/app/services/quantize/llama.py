"""llama.cpp's own tools, run as child processes: the HF -> GGUF converter and the quantizer.

The converter (``convert_hf_to_gguf.py`` with its ``conversion/`` and ``gguf-py/`` folders)
ships inside the llama-cpp-python sdist, not in the wheel; it is fetched once with pip (PyPI is
reachable where the Hub may not be) and kept under ``models/.cache``. Quantizing goes through
the binding's ``llama_model_quantize`` (no llama.cpp tool has to be built), in a child process
(:mod:`app.services.quantize.child`, which runs the converter too): neither can be interrupted,
so a cancel kills the child, and the server's event loop and threads are never held by them.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)

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


# Both tools run through this script (by path, not ``-m``: importing the ``app`` package would
# cost the child a second of imports it does not use).
_CHILD = str(Path(__file__).with_name("child.py"))


def convert_command(hf_dir: Path, out: Path, outtype: str, models_dir: Path) -> list[str]:
    """The command that converts ``hf_dir`` to the GGUF ``out`` (f16, bf16, q8_0, f32)."""
    script = converter_dir(models_dir) / "convert_hf_to_gguf.py"
    return [
        sys.executable,
        _CHILD,
        "convert",
        str(script),
        str(hf_dir),
        "--outfile",
        str(out),
        "--outtype",
        outtype,
    ]


def quantize_command(
    src: Path, out: Path, ftype: str, threads: int | None, allow_requantize: bool
) -> list[str]:
    """The command that quantizes the GGUF ``src`` to ``out`` (``ftype``: the binding's
    ``LLAMA_FTYPE_*`` constant name)."""
    return [
        sys.executable,
        _CHILD,
        "quantize",
        str(src),
        str(out),
        ftype,
        str(threads or 0),
        "1" if allow_requantize else "0",
    ]


def run_checked(command: list[str]) -> None:
    """Run a tool command to its end (scripts and the test-model builder); raise on failure
    with the tool's last words."""
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"llama.cpp's {command[2]} failed ({done.returncode}): {tail}")
