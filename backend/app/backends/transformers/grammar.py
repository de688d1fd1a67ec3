"""Grammar-constrained decoding for the Transformers backend, with xgrammar.

xgrammar (vLLM's default engine) was chosen over llguidance and outlines-core by measurement
(``python -m scripts.bench.grammar_engines``, figures in docs/benchmarks.md): its per-token mask
on SmolLM2's 49k vocabulary took 0.2 ms against 12 ms for llguidance, and it compiles a tool-call
schema in a few milliseconds. Each constrained sequence owns a :class:`RowGrammar` (a matcher and
a one-row bitmask), so constrained and free rows decode in the same batched forward pass and only
the constrained rows are masked before sampling.

Compiled grammars are cached by xgrammar's compiler (keyed by schema text and options), so a
repeated schema costs a lookup; ``MP_GRAMMAR_CACHE_BYTES`` bounds that cache.
"""

from __future__ import annotations

import threading
from typing import Any

import torch

from app.backends.base import Constraint
from app.core.errors import InvalidRequest


class GrammarCompiler:
    """Compiles :class:`Constraint` objects against one tokenizer (thread-safe, cached)."""

    def __init__(
        self, tokenizer: Any, vocab_size: int, stop_ids: set[int], cache_bytes: int
    ) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=sorted(stop_ids)
        )
        self.vocab_size = vocab_size
        self._compiler = xgr.GrammarCompiler(
            info,
            max_threads=2,
            cache_enabled=cache_bytes > 0,
            cache_limit_bytes=max(cache_bytes, 1),
        )
        self._lock = threading.Lock()

    def compile(self, constraint: Constraint) -> Any:
        """The compiled grammar, or 400 naming what xgrammar could not compile."""
        try:
            with self._lock:
                # Compact separators: a small model cannot wander off into whitespace.
                return self._compiler.compile_json_schema(
                    constraint.json_schema, any_whitespace=False, strict_mode=True
                )
        except Exception as exc:
            # Any failure of the converter on a client's schema is the schema's fault: 400,
            # never a 500 (checks before this one catch what they can name more precisely).
            detail = str(exc).splitlines()[-1].split(": ", 1)[-1] if str(exc) else repr(exc)
            raise InvalidRequest(
                f"The JSON schema cannot be compiled into a grammar: {detail}",
                param=constraint.param,
            ) from exc

    def row(self, compiled: Any) -> RowGrammar:
        return RowGrammar(self._xgr, compiled, self.vocab_size)


class RowGrammar:
    """The grammar state of one sequence: masks its logits, then advances on its token."""

    def __init__(self, xgr: Any, compiled: Any, vocab_size: int) -> None:
        self._xgr = xgr
        self._matcher = xgr.GrammarMatcher(compiled)
        self._bitmask = xgr.allocate_token_bitmask(1, vocab_size)

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """A copy of one row of logits (``[vocab]``) with every forbidden token at -inf."""
        row = logits.float().clone().view(1, -1)
        self._matcher.fill_next_token_bitmask(self._bitmask)
        self._xgr.apply_token_bitmask_inplace(row, self._bitmask)
        return row.view(-1)

    def accept(self, token_id: int) -> None:
        if not self._matcher.accept_token(token_id):
            # Cannot happen for a token drawn from the masked row; fail loudly if it does.
            raise RuntimeError(f"the grammar refused token {token_id}")
