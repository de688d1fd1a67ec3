"""Facts of a GGUF file read from its header (no weights loaded): architecture, tensors,
chat template, context, end-of-turn tokens. Cached by path and modification time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

# Tokens that end an assistant turn in the common chat formats.
_END_OF_TURN = {"<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>"}


def read_gguf(path: Path) -> dict[str, Any]:
    """:func:`gguf_facts` for ``path`` (cached until the file changes)."""
    return gguf_facts(path, path.stat().st_mtime)


@lru_cache(maxsize=32)
def gguf_facts(path: Path, mtime: float) -> dict[str, Any]:
    """Architecture, tensor names/types, template and end-of-turn ids of a GGUF file."""
    from gguf import GGUFReader

    reader = GGUFReader(path)

    def field(name: str) -> Any:
        item = reader.fields.get(name)
        return item.contents() if item is not None else None

    tokens = field("tokenizer.ggml.tokens") or []
    eog = {i for i, t in enumerate(tokens) if t in _END_OF_TURN}
    eos = field("tokenizer.ggml.eos_token_id")
    if isinstance(eos, int):
        eog.add(eos)
    return {
        "architecture": field("general.architecture"),
        "tensors": {t.name for t in reader.tensors},
        "types": {t.tensor_type.name for t in reader.tensors},
        "chat_template": field("tokenizer.chat_template"),
        "context_length": field(f"{field('general.architecture')}.context_length"),
        "eog_ids": eog,
    }
