"""Sampling defaults a model ships: ``generation_config.json`` of an HF folder, the
``general.sampling.*`` keys of a GGUF file. The serving layer applies them to every parameter a
request leaves out, on every API, and falls back to the server's defaults where the model says
nothing (see docs/models.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SamplingDefaults:
    """Model-given defaults; None where the model sets nothing."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None


def from_generation_config(folder: Path) -> SamplingDefaults:
    """Defaults from an HF folder's ``generation_config.json`` (only keys it sets explicitly;
    transformers' own class defaults, such as top_k=50, are not the model's). A config with
    ``do_sample: false`` asks for greedy decoding."""
    try:
        config = json.loads((folder / "generation_config.json").read_text())
    except (OSError, ValueError):
        return SamplingDefaults()
    if not isinstance(config, dict):
        return SamplingDefaults()
    if config.get("do_sample") is False:
        return SamplingDefaults(temperature=0.0)
    return SamplingDefaults(
        temperature=_number(config.get("temperature")),
        top_p=_number(config.get("top_p")),
        top_k=_integer(config.get("top_k")),
        repetition_penalty=_number(config.get("repetition_penalty")),
    )


def from_gguf_metadata(metadata: Mapping[str, Any]) -> SamplingDefaults:
    """Defaults from GGUF metadata (llama.cpp's ``general.sampling.*`` keys; values may be
    strings, as llama-cpp-python returns metadata as text)."""
    return SamplingDefaults(
        temperature=_number(metadata.get("general.sampling.temp")),
        top_p=_number(metadata.get("general.sampling.top_p")),
        top_k=_integer(metadata.get("general.sampling.top_k")),
        repetition_penalty=_number(metadata.get("general.sampling.penalty_repeat")),
    )


def _number(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
