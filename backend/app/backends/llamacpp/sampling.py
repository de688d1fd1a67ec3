"""Per-sequence sampler chains for the llama.cpp scheduler, built from our SamplingParams.

Each sequence owns one llama.cpp sampler chain (grammar, repetition penalty, temperature,
top-k, top-p, then a seeded draw or argmax), so sequences decoded in the same batch keep their
own parameters and random streams. Order follows our Transformers sampler (temperature before
top-k/top-p), so the two backends mean the same thing by the same numbers.
"""

from __future__ import annotations

import ctypes
import functools
import json
from collections.abc import Sequence
from typing import Any

import llama_cpp
from llama_cpp.llama_grammar import BuiltinRule, SchemaConverter

from app.backends.base import Constraint, SamplingParams
from app.backends.json_schema import find_keyword
from app.core.errors import InvalidRequest

# Number ranges: llama-cpp-python's schema-to-GBNF converter drops them silently.
LLAMACPP_UNSUPPORTED = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


# A character of a JSON string as JSON allows it: llama-cpp-python's converter lets raw control
# characters (a newline) into strings, which no strict JSON parser accepts.
_JSON_CHAR = BuiltinRule(
    r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ' + " ".join(["[0-9a-fA-F]"] * 4) + ")",
    [],
)


class _Converter(SchemaConverter):
    """llama-cpp-python's schema-to-GBNF converter with strings that are valid JSON."""

    def _add_primitive(self, name: str, rule: BuiltinRule) -> str:
        return super()._add_primitive(name, _JSON_CHAR if name == "char" else rule)


def json_schema_to_gbnf(schema: str) -> str:
    """GBNF for a JSON schema, as ``llama_cpp.llama_grammar.json_schema_to_gbnf`` makes it
    but with :data:`_JSON_CHAR` for string characters."""
    converter = _Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    converter.visit(converter.resolve_refs(json.loads(schema), "stdin"), "")
    return converter.format_grammar()


@functools.lru_cache(maxsize=256)
def schema_grammar(constraint: Constraint) -> str:
    """GBNF grammar text for a constraint (cached: a repeated schema is converted once), or
    400 when the schema cannot be compiled."""
    found = find_keyword(json.loads(constraint.json_schema), LLAMACPP_UNSUPPORTED)
    if found:
        raise InvalidRequest(
            f"The JSON schema uses {found}, which llama.cpp's grammar cannot enforce; "
            "remove it or use the transformers backend.",
            param=constraint.param,
        )
    try:
        return json_schema_to_gbnf(constraint.json_schema)
    except Exception as exc:
        # The converter asserts, raises KeyError, TypeError... on schemas it cannot handle:
        # whatever it raises on a client's schema is the schema's fault, so 400, never 500.
        # Its messages can quote the whole schema: the first 200 characters say enough.
        detail = f"{type(exc).__name__}: {exc}"
        detail = detail if len(detail) <= 200 else detail[:200] + "..."
        raise InvalidRequest(
            f"The JSON schema cannot be turned into a grammar: {detail}", param=constraint.param
        ) from exc


def check_grammar(vocab: Any, grammar: str, param: str) -> None:
    """400 unless llama.cpp can build a sampler from ``grammar`` (it refuses, e.g., very
    large repetition counts that the schema converter writes for long minLength values)."""
    stage = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
    if not stage:
        raise InvalidRequest(
            "llama.cpp rejected the grammar made from this JSON schema "
            "(very large minLength/maxLength or minItems/maxItems?).",
            param=param,
        )
    llama_cpp.llama_sampler_free(stage)


def _seed32(seed: int | None) -> int:
    if seed is None:
        return llama_cpp.LLAMA_DEFAULT_SEED  # llama.cpp draws a random seed for this value
    value = seed & 0xFFFFFFFF
    # 0xFFFFFFFF means "random" to llama.cpp: a seeded request must never ask for that.
    return value if value != llama_cpp.LLAMA_DEFAULT_SEED else 0xFFFFFFFE


def build_sampler(
    params: SamplingParams,
    vocab: Any,
    n_vocab: int,
    prompt_ids: Sequence[int],
    grammar: str | None,
) -> ctypes.c_void_p:
    """A new sampler chain for one sequence; free it with :func:`free_sampler`."""
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    if grammar is not None:
        stage = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        if not stage:
            llama_cpp.llama_sampler_free(chain)
            raise InvalidRequest(
                "llama.cpp rejected the grammar of this JSON schema.", param="response_format"
            )
        llama_cpp.llama_sampler_chain_add(chain, stage)
    if params.repetition_penalty != 1.0:
        window = len(prompt_ids) + params.max_tokens
        penalties = llama_cpp.llama_sampler_init_penalties(
            n_vocab, window, params.repetition_penalty, 0.0, 0.0
        )
        # Like Transformers, penalize tokens of the prompt too, not only generated ones.
        for token in prompt_ids:
            llama_cpp.llama_sampler_accept(penalties, token)
        llama_cpp.llama_sampler_chain_add(chain, penalties)
    if params.greedy:
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        return chain
    stages = [llama_cpp.llama_sampler_init_temp(params.temperature)]
    if params.top_k > 0:
        stages.append(llama_cpp.llama_sampler_init_top_k(params.top_k))
    if params.top_p < 1.0:
        stages.append(llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
    stages.append(llama_cpp.llama_sampler_init_dist(_seed32(params.seed)))
    for stage in stages:
        llama_cpp.llama_sampler_chain_add(chain, stage)
    return chain


def free_sampler(chain: ctypes.c_void_p | None) -> None:
    if chain:
        llama_cpp.llama_sampler_free(chain)
