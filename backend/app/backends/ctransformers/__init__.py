"""The ctransformers engine (legacy GGML/GGUF loader), in-process on CPU: ``backend``."""
