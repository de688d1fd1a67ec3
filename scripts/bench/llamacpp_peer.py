"""llama-cpp-python's own server (``python -m llama_cpp.server``), with llama.cpp's extra weight
buffer types chosen the way our llamacpp backend chooses them (``MP_LLAMACPP_EXTRA_BUFFERS``
auto: off on CPUs with AMX-INT8, where llama-cpp-python 0.3.36's AMX path crashes on quantized
files). Without this the peer cannot serve q8_0/q4_0 files at all on such machines, and with it
both sides read the weights the same way. Arguments are the server's own.
"""

from __future__ import annotations

import llama_cpp.llama_cpp as low_level
from app.core.hardware import cpu_flags

_default_params = low_level.llama_model_default_params


def _params():
    params = _default_params()
    params.use_extra_bufts = "amx_int8" not in cpu_flags()
    return params


def main() -> None:
    low_level.llama_model_default_params = _params
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
