"""Draft proposals for speculative decoding, shared by the in-process engines.

A :class:`Drafter` follows one request's tokens (prompt, then each accepted token) and proposes
the tokens that may come next, which the engine verifies in one forward pass
(docs/speculative.md). Two sources, the prediction first:

- the request's predicted output (OpenAI's Predicted Outputs): while the output so far follows
  the prediction, its next tokens; once they part, the tokens after the longest suffix of the
  text so far that occurs in it (the first occurrence at or after the last place used, so a
  prediction that repeats a phrase is followed in order), from where it follows again;
- prompt lookup: the tokens after the most recent earlier occurrence of the longest suffix
  (``ngram_max`` down to ``ngram_min`` tokens) of prompt + output.

Both look-ups are dictionaries kept up to date token by token, so a proposal costs
O(``ngram_max``) whatever the length of the text. The draft length adapts per request
(:class:`DraftLength`): it grows while drafts are accepted whole, shrinks to what was accepted
otherwise, and a request whose acceptance falls below break-even stops drafting for a while
(twice as long each time), so text that copies nothing costs only the look-ups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.backends.types import DraftSource, Speculation

# Drafted tokens a request's acceptance rate is judged over before it may pause drafting.
_JUDGE_AFTER = 16
# Steps a request first pauses drafting for; doubled at each later pause.
_FIRST_PAUSE = 16
# Weight of the newest step in the acceptance rate's moving average.
_EMA = 0.25


@dataclass
class Draft:
    """Tokens proposed to follow the text so far, and where they came from."""

    tokens: list[int]
    source: DraftSource | None = None


class _Index:
    """n-grams of a token list mapped to the position right after an occurrence."""

    def __init__(self, n_min: int, n_max: int, latest: bool) -> None:
        self.n_min, self.n_max = n_min, n_max
        self.latest = latest  # keep the most recent occurrence (else every occurrence)
        self.tokens: list[int] = []
        self.last: dict[tuple[int, ...], int] = {}
        self.every: dict[tuple[int, ...], list[int]] = {}

    def extend(self, tokens: Sequence[int]) -> None:
        for token in tokens:
            self.tokens.append(token)
            end = len(self.tokens) - 1  # the n-grams ending before ``token`` now have a follower
            for n in range(self.n_min, self.n_max + 1):
                if end - n < 0:
                    break
                key = tuple(self.tokens[end - n : end])
                if self.latest:
                    self.last[key] = end
                else:
                    self.every.setdefault(key, []).append(end)


class Drafter:
    """Proposes draft tokens for one request (see the module docstring)."""

    def __init__(self, spec: Speculation, prompt: Sequence[int]) -> None:
        self.spec = spec
        n_min = max(1, spec.ngram_min)
        n_max = max(n_min, spec.ngram_max)
        self._context = _Index(n_min, n_max, latest=True) if spec.mode == "ngram" else None
        self._prediction = _Index(n_min, n_max, latest=False) if spec.prediction else None
        if self._prediction is not None:
            self._prediction.extend(spec.prediction)
        self._text: list[int] = []  # prompt + accepted output
        self._cursor = 0  # where in the prediction the last proposal from it started
        # Index in the prediction of the token expected next while the output follows it.
        self._next: int | None = 0
        self.length = DraftLength(spec)
        self.extend(prompt, output=False)

    def extend(self, tokens: Sequence[int], *, output: bool = True) -> None:
        """Tokens that now follow the text (the prompt, then every accepted token)."""
        self._text.extend(tokens)
        if output and self._prediction is not None:
            predicted = self._prediction.tokens
            for token in tokens:
                at = self._next
                following = at is not None and at < len(predicted) and predicted[at] == token
                self._next = at + 1 if following and at is not None else None
        if self._context is not None:
            self._context.extend(tokens)

    def propose(self, limit: int) -> Draft:
        """Up to ``min(limit, the adaptive length)`` tokens to verify next (maybe none)."""
        k = min(limit, self.length.next())
        if k <= 0:
            return Draft([])
        if self._prediction is not None:
            tokens = self._from_prediction(k)
            if tokens:
                return Draft(tokens, "prediction")
        if self._context is not None:
            tokens = self._from_context(k)
            if tokens:
                return Draft(tokens, "ngram")
        return Draft([])

    def _from_prediction(self, k: int) -> list[int]:
        index = self._prediction
        assert index is not None
        if self._next is not None:
            at = self._next
        else:
            at = -1
            for n in range(index.n_max, index.n_min - 1, -1):
                if len(self._text) < n:
                    continue
                places = index.every.get(tuple(self._text[-n:]))
                if places:
                    later = [p for p in places if p >= self._cursor]
                    at = later[0] if later else places[-1]
                    break
            if at < 0:
                return []
        tokens = index.tokens[at : at + k]
        self._cursor, self._next = at, at
        return tokens

    def _from_context(self, k: int) -> list[int]:
        index = self._context
        assert index is not None
        for n in range(index.n_max, index.n_min - 1, -1):
            if len(self._text) < n:
                continue
            at = index.last.get(tuple(self._text[-n:]))
            if at is not None:
                return index.tokens[at : at + k]
        return []


@dataclass
class DraftLength:
    """The adaptive draft length of one request (see the module docstring)."""

    spec: Speculation
    k: int = 0
    rate: float = 1.0  # moving average of accepted / drafted per step
    drafted: int = 0
    paused: int = 0  # steps left without drafting
    pause: int = _FIRST_PAUSE

    def __post_init__(self) -> None:
        self.k = max(1, min(4, self.spec.max_draft))

    def next(self) -> int:
        """Draft tokens to propose this step (0 while paused)."""
        if self.paused > 0:
            self.paused -= 1
            return 0
        return self.k

    def update(self, drafted: int, accepted: int) -> None:
        """A step verified ``drafted`` tokens and kept ``accepted`` of them."""
        if drafted == 0:
            return
        self.drafted += drafted
        self.rate = (1 - _EMA) * self.rate + _EMA * (accepted / drafted)
        if accepted == drafted:
            self.k = min(self.spec.max_draft, self.k + 2)
        else:
            self.k = max(1, accepted + 1)
        if self.drafted >= _JUDGE_AFTER and self.rate < self.spec.min_acceptance:
            # Below break-even: stop drafting for a while, then try again from scratch.
            self.paused, self.pause = self.pause, self.pause * 2
            self.rate, self.drafted = 1.0, 0
            self.k = 1
