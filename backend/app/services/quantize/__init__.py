"""Quantization: GGUF models made from local GGUF files or HF folders, as background jobs."""

from app.services.quantize.service import QuantizeService

__all__ = ["QuantizeService"]
