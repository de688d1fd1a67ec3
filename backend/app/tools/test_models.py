"""Builds the small models the project tests and benchmarks with, from nothing but local text.

No hub is reachable on the machines we test on, so we make our own real models:

* a Llama-style BPE tokenizer (``▁`` for spaces, byte fallback, ``<unk> <s> </s>`` as 0/1/2,
  ChatML special tokens) trained with ``tokenizers`` on the Python standard library's sources;
  this form converts to GGUF with llama.cpp's converter, a GPT-2 byte-level BPE does not;
* ``tiny``: LLaMA architecture, hidden 128, 2 layers, head size 32, trained for about a minute
  on the same corpus so it writes Python-looking text and closes chat turns: a demo model;
* ``bench-0.5b``: the Qwen2.5-0.5B shape (hidden 896, 24 layers, 14 heads, 2 KV heads,
  intermediate 4864, ~390M parameters, bf16), random weights, for benchmarks only.

Embeddings are untied (ctransformers reads GGUF llama files only with ``output.weight``) and
head size is >= 32 (vLLM's CPU attention rejects 16). Everything is seeded: the same machine
builds the same files.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.services.models.store import DEMO_PREFIX

log = logging.getLogger(__name__)

SEED = 1234
VOCAB_SIZE = 16000
CORPUS_BYTES = 6_000_000
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
DEMO_NOTE = (
    f"{DEMO_PREFIX}: a tiny LLaMA trained for a minute or two on "
    "Python sources. It writes Python-looking text, not answers. Download a real model "
    "(Models page or `playground pull`) for real use."
)


@dataclass(frozen=True)
class ModelShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    context: int
    train_steps: int
    dtype: str


SHAPES: dict[str, ModelShape] = {
    "tiny": ModelShape(128, 2, 4, 2, 512, 1024, train_steps=350, dtype="float32"),
    "bench-0.5b": ModelShape(896, 24, 14, 2, 4864, 4096, train_steps=0, dtype="bfloat16"),
}


def corpus_files() -> list[Path]:
    """Python sources of the standard library, sorted so the corpus is the same every time."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for path in sorted(stdlib.rglob("*.py")):
        parts = set(path.relative_to(stdlib).parts)
        if parts & {"site-packages", "test", "tests", "idlelib", "lib2to3"}:
            continue
        files.append(path)
    return files


def read_corpus(limit_bytes: int = CORPUS_BYTES) -> list[str]:
    """UTF-8 texts of the corpus, up to ``limit_bytes``; files that are not UTF-8 are skipped."""
    texts, total = [], 0
    for path in corpus_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        texts.append(text)
        total += len(text)
        if total >= limit_bytes:
            break
    return texts


def train_tokenizer(texts: list[str]):  # -> transformers.PreTrainedTokenizerFast
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # Llama's normalizer (spaces become ▁, one is prepended), then a split that keeps runs of
    # spaces together so indentation gets tokens of its own ("▁▁▁") instead of one per space,
    # which made greedy decoding of code degenerate into endless single spaces.
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Split(
        Regex(r"▁+(?=▁[^▁\n])|▁?[^▁\n]+|▁+|\n+"), behavior="isolated"
    )
    # Llama's own decoder chain: llama.cpp's converter recognises a Llama BPE by it.
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        limit_alphabet=200,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # Lay the vocabulary out as Llama does: specials, then the 256 byte-fallback pieces (so any
    # character round-trips), then the learned pieces. Merges name pieces, not ids.
    model_json = json.loads(tok.to_str())
    learned = sorted(model_json["model"]["vocab"].items(), key=lambda item: item[1])
    byte_pieces = [f"<0x{b:02X}>" for b in range(256)]
    order = SPECIAL_TOKENS + byte_pieces
    order += [piece for piece, _ in learned if piece not in set(order)]
    model_json["model"]["vocab"] = {piece: idx for idx, piece in enumerate(order)}
    for added in model_json["added_tokens"]:
        added["id"] = model_json["model"]["vocab"][added["content"]]
    tok = Tokenizer.from_str(json.dumps(model_json))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="</s>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        model_max_length=4096,
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_config(shape: ModelShape, vocab_size: int, tokenizer):  # -> LlamaConfig
    from transformers import LlamaConfig

    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        head_dim=shape.hidden // shape.heads,
        max_position_embeddings=shape.context,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=[2, im_end],
        pad_token_id=2,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
    )


def training_windows(
    texts: list[str], tokenizer, seq_len: int, rng: random.Random
) -> Iterator[list[int]]:
    """Endless training sequences: plain code windows and ChatML turns whose reply is the
    next few lines of code, so the model learns to close its turn with <|im_end|>."""
    line_pool = [t.splitlines() for t in texts]
    ids_pool = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts[:400]]
    ids_pool = [ids for ids in ids_pool if len(ids) > seq_len + 1]
    while True:
        if rng.random() < 0.5:
            ids = rng.choice(ids_pool)
            start = rng.randrange(0, len(ids) - seq_len - 1)
            yield [1] + ids[start : start + seq_len - 1]
        else:
            lines = rng.choice(line_pool)
            if len(lines) < 12:
                continue
            at = rng.randrange(0, len(lines) - 10)
            prompt = lines[at].strip() or "write some python"
            reply = "\n".join(lines[at + 1 : at + 1 + rng.randint(1, 8)])
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}],
                tokenize=False,
            )
            ids = tokenizer(text, add_special_tokens=False)["input_ids"][:seq_len]
            yield ids + [2] * (seq_len - len(ids))


def train(model, tokenizer, texts: list[str], steps: int) -> float:
    """A short causal-LM training run; returns the last loss."""
    import torch

    rng = random.Random(SEED)
    batches = training_windows(texts, tokenizer, seq_len=128, rng=rng)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-3, total_steps=steps, pct_start=0.1
    )
    model.train()
    loss_value = float("nan")
    for step in range(steps):
        batch = torch.tensor([next(batches) for _ in range(16)])
        labels = batch.masked_fill(batch == 2, -100)
        loss = model(input_ids=batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = loss.item()
        if step % 50 == 0 or step == steps - 1:
            log.info("train step %d/%d loss %.3f", step + 1, steps, loss_value)
    model.eval()
    return loss_value


def make_model(name: str, models_dir: Path, *, force: bool = False) -> Path:
    """Build ``models_dir/name`` (tokenizer, config, safetensors) unless it is already there."""
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    shape = SHAPES[name]
    target = models_dir / name
    if (target / "model.safetensors").exists() and not force:
        log.info("%s already built at %s", name, target)
        return target
    started = time.perf_counter()
    torch.manual_seed(SEED)
    random.seed(SEED)
    texts = read_corpus()
    tokenizer = train_tokenizer(texts)
    config = build_config(shape, len(tokenizer), tokenizer)
    model = LlamaForCausalLM(config)
    if shape.train_steps:
        train(model, tokenizer, texts, shape.train_steps)
    model = model.to(getattr(torch, shape.dtype))
    model.generation_config = GenerationConfig(
        bos_token_id=1, eos_token_id=config.eos_token_id, pad_token_id=2, do_sample=False
    )
    # Write next to the target and rename, so a killed build never leaves a half model.
    staging = models_dir / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "README.md").write_text(
        f"# {name}\n\n{DEMO_NOTE if name == 'tiny' else 'Random-weight benchmark model.'}\n"
        f"\nParameters: {model.num_parameters():,}. Built by `playground make-test-models`.\n"
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    log.info(
        "built %s in %.1f s (%s parameters)",
        name,
        time.perf_counter() - started,
        f"{model.num_parameters():,}",
    )
    return target
