"""Child-process entry point: quantize one GGUF file with llama.cpp's library.

``python .../quantize/child.py SRC DST FTYPE THREADS ALLOW_REQUANTIZE`` (run as a script: it
imports nothing of the app) calls the binding's ``llama_model_quantize`` once and exits with
its status (0: ``DST`` is complete).
It runs apart from the server because the call cannot be interrupted: a cancel kills this
process. llama.cpp's own messages go to stderr, which the parent keeps for the error text.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    src, dst, ftype, threads, allow_requantize = argv
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    params.nthread = int(threads)
    params.allow_requantize = allow_requantize == "1"
    return int(llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
