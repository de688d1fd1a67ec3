"""Chunks not worth indexing, dropped at ingestion: tables of contents.

A table of contents is mostly dot leaders ("Introduction ........ 3"). Its chunk names every
topic of the document, so dense and BM25 search both rank it high for almost any question, yet
it answers none of them: it crowds the real passages out of the top results. A chunk counts as
one when at least ``MIN_LEADER_LINES`` of its lines carry a leader and they are at least half of
its lines that are not bare page numbers (PyMuPDF sometimes puts the number on its own line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

# A run of 4+ dots (or ellipses, or middle dots), spaced or not: ".....", ". . . .", "……".
_LEADER = re.compile(r"(?:[.·…]\s?){4,}")
_PAGE_NUMBER = re.compile(r"^(?:\d{1,4}|[ivxlcdm]{1,6})$", re.IGNORECASE)
MIN_LEADER_LINES = 3

T = TypeVar("T")


def is_toc(text: str) -> bool:
    """Whether ``text`` reads as a table-of-contents listing (see the module docstring)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _PAGE_NUMBER.match(line)]
    leaders = sum(1 for line in lines if _LEADER.search(line))
    return leaders >= MIN_LEADER_LINES and leaders * 2 >= len(lines)


def drop_toc(chunks: Sequence[T], text_of: str = "text") -> tuple[list[T], int]:
    """The chunks without table-of-contents ones, and how many were dropped."""
    kept = [c for c in chunks if not is_toc(getattr(c, text_of))]
    return kept, len(chunks) - len(kept)
