"""Citation markers in answers: every ``[n]`` must name a source that was given to the model.

``check_citations`` cleans a whole answer; ``CitationStreamFilter`` does the same to a stream
of token texts, so a streamed answer never shows a marker that the final answer drops.
"""

from __future__ import annotations

import re

_CITE = re.compile(r"\[(\d+)\]", re.ASCII)


def check_citations(text: str, given: set[int]) -> tuple[str, list[int], list[int]]:
    """The text with every ``[n]`` that names no given source removed, the cited numbers in
    order of first use, and the invalid ones."""
    cited: list[int] = []
    invalid: list[int] = []

    def replace(match: re.Match[str]) -> str:
        n = int(match.group(1))
        bucket = cited if n in given else invalid
        if n not in bucket:
            bucket.append(n)
        return match.group(0) if n in given else ""

    return _CITE.sub(replace, text), cited, invalid


class CitationStreamFilter:
    """Removes ``[n]`` markers naming no given source from a stream of text pieces.

    A marker can arrive split over several tokens ("[", "1", "2]"), so text from an
    unclosed ``[`` on is held back while only digits follow it: until it closes (then kept or
    dropped), stops looking like a marker (then released as is), or the stream ends
    (``flush``). The concatenated output
    equals ``check_citations`` applied to the concatenated input.
    """

    def __init__(self, given: set[int]) -> None:
        self._given = given
        self._pending = ""

    def feed(self, text: str) -> str:
        """The part of everything fed so far that can be shown now."""
        out: list[str] = []
        for char in text:
            if self._pending:
                self._pending += char
                if char == "]":
                    out.append(self._resolve(self._pending))
                    self._pending = ""
                elif not char.isascii() or not char.isdigit():
                    # Not a marker after all; its tail may start a new one ("[[1]").
                    held = self._pending
                    self._pending = ""
                    out.append(held[0])
                    out.append(self.feed(held[1:]))
            elif char == "[":
                self._pending = char
            else:
                out.append(char)
        return "".join(out)

    def flush(self) -> str:
        """What is still held back when the stream ends (an unclosed ``[...``)."""
        held, self._pending = self._pending, ""
        return held

    def _resolve(self, marker: str) -> str:
        digits = marker[1:-1]
        if not digits:
            return marker  # "[]" is text, not a marker
        return marker if int(digits) in self._given else ""
