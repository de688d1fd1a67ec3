"""Sections of a PDF from its structure: the outline (bookmarks) when it has one, else headings
found by font size and numbering.

Each section is the text between two headings, possibly across pages, with a map from character
offsets to pages, so a chunk knows its exact first and last page. PyMuPDF's plain text is kept
as the section text (what citations show); headings are only located in it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from app.services.rag.loaders import Section

_NUMBERED = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.\d+(\.\d+)*|Appendix [A-Z])\s+\S")
_SPACES = re.compile(r"\s+")
# A section whose body is shorter than this is merged into the next one (a chapter title
# followed at once by its first subsection would otherwise make a heading-only chunk).
_MIN_BODY_CHARS = 80


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def _find(page_text: str, title: str, start: int) -> int:
    """Offset of ``title`` in ``page_text`` at or after ``start`` (whitespace-insensitive)."""
    words = [re.escape(w) for w in title.split() if w]
    if not words:
        return -1
    match = re.compile(r"\s+".join(words), re.IGNORECASE).search(page_text, start)
    return match.start() if match else -1


def _detected_headings(doc: Any) -> list[tuple[int, int, str]]:
    """(level, page, title) of lines set clearly larger than body text, or numbered and bold,
    when the PDF has no outline."""
    lines: list[tuple[int, float, bool, str]] = []
    sizes: Counter[float] = Counter()
    for index, page in enumerate(doc):
        for block in page.get_text("dict")["blocks"]:
            for line in block.get("lines", []):
                spans = [s for s in line["spans"] if s["text"].strip()]
                if not spans:
                    continue
                text = "".join(s["text"] for s in spans).strip()
                size = round(max(s["size"] for s in spans), 1)
                bold = all(s["flags"] & 16 or "Bold" in s["font"] for s in spans)
                sizes[size] += len(text)
                lines.append((index + 1, size, bold, text))
    if not sizes:
        return []
    body = sizes.most_common(1)[0][0]
    heading_sizes = sorted({s for _, s, _, t in lines if s >= body * 1.15}, reverse=True)
    out: list[tuple[int, int, str]] = []
    for page, size, bold, text in lines:
        if len(text) > 90 or len(text) < 3 or not any(ch.isalpha() for ch in text):
            continue
        if size >= body * 1.15 and (bold or _NUMBERED.match(text)):
            level = heading_sizes.index(size) + 1
        elif bold and _NUMBERED.match(text) and size >= body:
            level = len(heading_sizes) + 1
        else:
            continue
        out.append((min(level, 6), page, text))
    return out


def pdf_sections(doc: Any, page_texts: list[str]) -> list[Section]:
    """Sections by outline or detected headings; falls back to one section per page."""
    toc = [(lvl, title.strip(), page) for lvl, title, page, *_ in doc.get_toc(simple=True)]
    headings = [(lvl, p, t) for lvl, t, p in toc if t and 1 <= p <= len(page_texts)]
    if not headings:
        headings = _detected_headings(doc)
    full, page_starts = "", []
    for number, text in enumerate(page_texts, start=1):
        page_starts.append((len(full), number))
        full += text if text.endswith("\n") or not text else text + "\n"
    # Locate each heading at its page (in order, so repeated titles land on the right line).
    cuts: list[tuple[int, list[str]]] = []
    path: list[tuple[int, str]] = []
    cursor = 0
    for level, page, title in headings:
        page_offset = page_starts[page - 1][0]
        local_from = max(0, cursor - page_offset)
        found = _find(page_texts[page - 1], title, local_from)
        offset = page_offset + found if found >= 0 else page_offset
        offset = max(offset, cursor)
        path = [(lv, t) for lv, t in path if lv < level] + [(level, _SPACES.sub(" ", title))]
        cuts.append((offset, [t for _, t in path]))
        cursor = offset
    if not cuts:
        return [Section(t, n, [], [(0, n)]) for n, t in enumerate(page_texts, 1) if t.strip()]
    bounds: list[tuple[int, list[str]]] = [(0, [])] + cuts if cuts[0][0] > 0 else cuts
    sections: list[Section] = []
    carry_from: int | None = None
    for i, (start, heading_path) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else len(full)
        begin = carry_from if carry_from is not None else start
        body = full[start:end]
        title_len = len(heading_path[-1]) if heading_path else 0
        if i + 1 < len(bounds) and len(body.strip()) - title_len < _MIN_BODY_CHARS:
            carry_from = begin  # too short alone: it opens the next section
            continue
        carry_from = None
        text = full[begin:end]
        if not text.strip():
            continue
        spans = [(max(0, s - begin), p) for s, p in page_starts if s < end]
        spans = [sp for sp in spans if sp[0] < len(text)]
        first = [sp for sp in spans if sp[0] == 0]
        if not first:  # the page the section starts on
            spans = [(0, _page_at(page_starts, begin))] + [sp for sp in spans if sp[0] > 0]
        spans = sorted({sp[0]: sp for sp in spans}.values())
        sections.append(Section(text, spans[0][1], list(heading_path), spans))
    return sections


def _page_at(page_starts: list[tuple[int, int]], offset: int) -> int:
    page = page_starts[0][1]
    for start, number in page_starts:
        if start <= offset:
            page = number
    return page
