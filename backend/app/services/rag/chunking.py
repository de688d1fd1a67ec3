"""Split sections into overlapping chunks measured in the embedding model's tokens.

Token windows use the tokenizer's character offsets, so a chunk is an exact slice of the source
text. Without a tokenizer (``token_offsets=None``) a character window of ~4 characters per token
stands in. Chunks never cross a section, so each keeps one heading path; a section may span
pages (structure-aware PDF sections), so a chunk records its first and last page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.services.rag.loaders import Section

CHARS_PER_TOKEN = 4

OffsetsFn = Callable[[str], list[tuple[int, int]]]


@dataclass
class Chunk:
    """A piece of a document ready to embed; ``position`` orders chunks within the document."""

    text: str
    position: int
    page: int | None
    heading_path: list[str] = field(default_factory=list)
    start_char: int = 0
    page_end: int | None = None

    @property
    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the section title, then the text. The cited
        text stays :attr:`text` (the exact slice of the document)."""
        return indexed_text(self.text, self.heading_path)


def indexed_text(text: str, heading_path: list[str]) -> str:
    """Section title prepended to chunk text (the text that is embedded and indexed)."""
    return f"{heading_path[-1]}\n{text}" if heading_path else text


def _pages(
    spans: list[tuple[int, int]], start: int, end: int, default: int | None
) -> tuple[int | None, int | None]:
    if not spans:
        return default, default
    first = last = spans[0][1]
    for offset, page in spans:
        if offset <= start:
            first = page
        if offset < end:
            last = page
    return first, last


def _windows(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    step = max(1, size - overlap)
    spans, start = [], 0
    while start < n:
        end = min(n, start + size)
        spans.append((start, end))
        if end == n:
            break
        start += step
    return spans


def _snap_left(text: str, pos: int, floor: int) -> int:
    """Move a character cut back to the last whitespace so words stay whole (fallback mode)."""
    cut = text.rfind(" ", floor, pos)
    return cut + 1 if cut > floor else pos


def chunk_sections(
    sections: list[Section],
    size: int,
    overlap: int,
    token_offsets: OffsetsFn | None = None,
) -> list[Chunk]:
    """Chunks of at most ``size`` tokens overlapping by ``overlap`` tokens."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than size")
    chunks: list[Chunk] = []
    for section in sections:
        text = section.text
        if token_offsets is not None:
            offsets = [o for o in token_offsets(text) if o[1] > o[0]]
            spans = [
                (offsets[a][0], offsets[b - 1][1]) for a, b in _windows(len(offsets), size, overlap)
            ]
        else:
            spans = []
            for a, b in _windows(len(text), size * CHARS_PER_TOKEN, overlap * CHARS_PER_TOKEN):
                b2 = _snap_left(text, b, a) if b < len(text) else b
                if a > 0 and not text[a - 1].isspace() and (sp := text.find(" ", a, b2)) >= 0:
                    a = sp + 1
                spans.append((a, b2))
        for start, end in spans:
            piece = text[start:end]
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if piece:
                first, last = _pages(
                    section.page_spans, start + lead, start + lead + len(piece), section.page
                )
                chunks.append(
                    Chunk(piece, len(chunks), first, list(section.heading_path), start + lead, last)
                )
    return chunks
