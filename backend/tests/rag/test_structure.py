"""Structure-aware chunks of a real third-party PDF (the shared-mime-info specification,
bundled with the evaluation set): section paths from its outline, exact page spans."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from app.services.rag.chunking import chunk_sections
from app.services.rag.loaders import parse

PDF = (
    Path(__file__).resolve().parents[3]
    / "scripts"
    / "bench"
    / "rag_eval"
    / "pdfs"
    / "shared-mime-info-spec.pdf"
)


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_sections_and_page_spans_of_a_real_pdf() -> None:
    data = PDF.read_bytes()
    parsed = parse(PDF.name, data, max_pages=100)
    chunks = chunk_sections(parsed.sections, 200, 40)
    paths = [c.heading_path for c in chunks]
    assert ["1. Introduction", "1.1. Version"] in paths
    assert ["2. Unified system", "2.4. The glob files"] in paths
    doc = pymupdf.open(stream=data, filetype="pdf")
    pages = [_norm(p.get_text("text")) for p in doc]
    spanning = 0
    for chunk in chunks:
        assert chunk.page is not None and chunk.page_end is not None
        assert 1 <= chunk.page <= chunk.page_end <= len(pages)
        text = _norm(chunk.text)
        if chunk.page == chunk.page_end:
            assert text in pages[chunk.page - 1], (chunk.page, text[:80])
        else:  # starts on its first page and ends on its last
            spanning += 1
            assert text in " ".join(pages[chunk.page - 1 : chunk.page_end])
            assert text[:12] in pages[chunk.page - 1]
            assert text[-12:] in pages[chunk.page_end - 1]
        # The section title is indexed with the text; the cited text is the exact slice.
        assert chunk.indexed_text.startswith(
            chunk.heading_path[-1] if chunk.heading_path else chunk.text[:10]
        )
    assert spanning > 0
    globs = next(c for c in chunks if "default weight value is 50" in _norm(c.text))
    assert globs.page == 4 and globs.heading_path[-1].startswith("2.2.")


def test_without_structure_one_section_per_page() -> None:
    parsed = parse(PDF.name, PDF.read_bytes(), max_pages=100, structure=False)
    assert all(s.heading_path == [] for s in parsed.sections)
    assert [s.page for s in parsed.sections] == list(range(1, 18))
