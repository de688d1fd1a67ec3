"""Child-process entry point of llama.cpp's tools: the HF converter and the quantizer.

``python .../quantize/child.py quantize SRC DST FTYPE THREADS ALLOW_REQUANTIZE`` calls the
binding's ``llama_model_quantize`` once and exits with its status (0: ``DST`` is complete);
``python .../quantize/child.py convert SCRIPT ARGS...`` runs llama.cpp's converter script with
those arguments. It runs as a script (it imports nothing of the app) and apart from the server
because neither tool can be interrupted: a cancel kills this process. On Linux it first asks
the kernel for a SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), so a server killed with
SIGKILL leaves no tool writing on; it is set here, after the fork, rather than in a
``preexec_fn``, which is unsafe in a threaded server. The tools' messages go to stderr, which
the parent keeps for the error text.
"""

from __future__ import annotations

import os
import runpy
import sys

PARENT_ENV = "MP_TOOL_PARENT"  # the server's pid, to notice a parent that died before prctl


def die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    expected = os.environ.get(PARENT_ENV)
    if expected is not None and os.getppid() != int(expected):
        sys.exit(1)  # the parent died before the request took effect


def quantize(src: str, dst: str, ftype: str, threads: str, allow_requantize: str) -> int:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    params.nthread = int(threads)
    params.allow_requantize = allow_requantize == "1"
    return int(llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params))


def convert(script: str, args: list[str]) -> int:
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name="__main__")
    return 0


def main(argv: list[str]) -> int:
    die_with_parent()
    if argv[0] == "quantize":
        return quantize(*argv[1:])
    if argv[0] == "convert":
        return convert(argv[1], argv[2:])
    print(f"unknown tool {argv[0]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
