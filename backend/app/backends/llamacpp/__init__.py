"""The llama.cpp engine through llama-cpp-python: GGUF files, several sequences decoded together.

``backend`` (the :class:`~app.backends.base.Backend`), ``scheduler`` (the shared decode loop)
and ``sampling`` (sampler chains and GBNF grammars from JSON schemas).
"""
