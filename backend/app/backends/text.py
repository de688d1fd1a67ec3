"""Engine-independent text handling for token streams: incremental detokenization and stop
strings. Shared by every in-process backend so they all stream and stop the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence

# How many prompt tokens to keep as decoding context: enough for a Llama-style tokenizer to
# render the leading space of the first generated token correctly.
_CONTEXT_TOKENS = 6


class IncrementalDetokenizer:
    """Turns token ids into text deltas without splitting multi-byte characters.

    Decoding each token alone loses leading spaces (``▁`` tokenizers) and breaks characters
    split over several byte-fallback tokens, so we decode a sliding window and emit only the
    new, complete suffix (the approach vLLM and TGI use).
    """

    def __init__(self, decode: Callable[[Sequence[int]], str], prompt_ids: Sequence[int]) -> None:
        self._decode = decode
        self._ids: list[int] = list(prompt_ids[-_CONTEXT_TOKENS:])
        self._prefix_offset = 0
        self._read_offset = len(self._ids)

    def add(self, token_id: int) -> str:
        """Append one token; return the text it completes (often '', never a partial char)."""
        self._ids.append(token_id)
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._ids[self._prefix_offset :])
        if len(new_text) > len(prefix_text) and not new_text.endswith("\ufffd"):
            delta = new_text[len(prefix_text) :]
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            return delta
        return ""


class StopMatcher:
    """Finds stop strings in streamed text and holds back what could start one.

    ``feed`` returns the text that is safe to emit and whether a stop string was hit; text of
    a stop string itself is never emitted (OpenAI semantics).
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._pending = ""

    def feed(self, delta: str) -> tuple[str, bool]:
        if not self._stops:
            return delta, False
        self._pending += delta
        hit = min(
            (idx for idx in (self._pending.find(s) for s in self._stops) if idx >= 0),
            default=-1,
        )
        if hit >= 0:
            emit, self._pending = self._pending[:hit], ""
            return emit, True
        hold = self._held_back_length()
        cut = len(self._pending) - hold
        emit, self._pending = self._pending[:cut], self._pending[cut:]
        return emit, False

    def flush(self) -> str:
        """Text held back when generation ends for another reason than a stop string."""
        rest, self._pending = self._pending, ""
        return rest

    def _held_back_length(self) -> int:
        longest = 0
        for stop in self._stops:
            for k in range(min(len(stop) - 1, len(self._pending)), longest, -1):
                if self._pending.endswith(stop[:k]):
                    longest = k
                    break
        return longest
