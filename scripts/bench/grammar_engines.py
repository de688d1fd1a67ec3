"""``python -m scripts.bench.grammar_engines``: compare grammar engines for the Transformers
backend (compile time of a JSON schema, cost of one per-token mask) on real tokenizers.

Walks a fixed valid JSON document token by token through each engine's matcher and times the
mask fill at every step, so both engines do the same work a decode loop asks of them. Prints a
table; the figures that chose the engine are in docs/benchmarks.md (``## Constrained decoding``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "enum": ["get_weather", "search"]},
        "arguments": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city", "unit"],
        },
    },
    "required": ["name", "arguments"],
}
DOCUMENT = '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": 3}}'


def _tokenizer(spec: str) -> Any:
    from transformers import AutoTokenizer

    path = Path(spec)
    if path.suffix == ".gguf":
        return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    return AutoTokenizer.from_pretrained(path)


def walk_ids(tok: Any, vocab: int) -> list[int]:
    """Token ids spelling DOCUMENT that the grammar accepts: at each step the allowed token
    with the longest piece matching what is left (a plain tokenization may start with a
    prefix-space token that JSON's grammar refuses)."""
    import xgrammar as xgr
    import xgrammar.testing

    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=vocab)
    matcher = xgr.GrammarMatcher(
        xgr.GrammarCompiler(info).compile_json_schema(json.dumps(SCHEMA))
    )
    mask = xgr.allocate_token_bitmask(1, vocab)
    rest, ids = DOCUMENT.encode(), []
    while rest:
        matcher.fill_next_token_bitmask(mask)
        allowed = xgr.testing.bitmask_to_bool_mask(mask, vocab)[0]
        best = max(
            (
                i
                for i, piece in enumerate(info.decoded_vocab)
                if piece and rest.startswith(piece) and allowed[i]
            ),
            key=lambda i: len(info.decoded_vocab[i]),
        )
        ids.append(best)
        assert matcher.accept_token(best)
        rest = rest[len(info.decoded_vocab[best]) :]
    return ids


def bench_xgrammar(tok: Any, ids: list[int], vocab: int) -> dict[str, float]:
    import xgrammar as xgr

    t0 = time.perf_counter()
    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=vocab)
    compiler = xgr.GrammarCompiler(info, cache_enabled=False)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = compiler.compile_json_schema(json.dumps(SCHEMA))
    compile_s = time.perf_counter() - t0
    matcher = xgr.GrammarMatcher(compiled)
    mask = xgr.allocate_token_bitmask(1, vocab)
    logits = torch.zeros(1, vocab)
    costs = []
    for token in ids:
        t0 = time.perf_counter()
        matcher.fill_next_token_bitmask(mask)
        xgr.apply_token_bitmask_inplace(logits, mask)
        costs.append(time.perf_counter() - t0)
        assert matcher.accept_token(token), f"xgrammar refused token {token}"
    return {"setup_s": setup, "compile_s": compile_s, "mask_ms": _ms(costs)}


def bench_llguidance(tok: Any, ids: list[int], vocab: int) -> dict[str, float]:
    import llguidance
    import llguidance.hf
    import llguidance.torch as lltorch

    t0 = time.perf_counter()
    lltok = llguidance.hf.from_tokenizer(tok, n_vocab=vocab)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(SCHEMA))
    matcher = llguidance.LLMatcher(lltok, grammar)
    compile_s = time.perf_counter() - t0
    assert not matcher.is_error(), matcher.get_error()
    mask = lltorch.allocate_token_bitmask(1, vocab)
    logits = torch.zeros(1, vocab)
    costs = []
    for token in ids:
        t0 = time.perf_counter()
        lltorch.fill_next_token_bitmask(matcher, mask, 0)
        lltorch.apply_token_bitmask_inplace(logits, mask)
        costs.append(time.perf_counter() - t0)
        assert matcher.consume_token(token), f"llguidance refused token {token}"
    return {"setup_s": setup, "compile_s": compile_s, "mask_ms": _ms(costs)}


def _ms(costs: list[float]) -> float:
    return statistics.median(costs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tokenizers", nargs="+", help="HF folders or .gguf files")
    args = parser.parse_args()
    print(
        f"{'tokenizer':<40} {'vocab':>7} {'engine':<11} {'setup s':>8} "
        f"{'compile ms':>10} {'mask ms':>8}"
    )
    for spec in args.tokenizers:
        tok = _tokenizer(spec)
        vocab = len(tok)
        ids = walk_ids(tok, vocab)
        for name, fn in (
            ("xgrammar", bench_xgrammar),
            ("llguidance", bench_llguidance),
        ):
            r = fn(tok, ids, vocab)
            print(
                f"{Path(spec).name:<40} {vocab:>7} {name:<11} {r['setup_s']:>8.2f} "
                f"{r['compile_s'] * 1000:>10.1f} {r['mask_ms']:>8.3f}"
            )


if __name__ == "__main__":
    main()
