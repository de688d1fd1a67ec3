"""The BM25 index on its own: writes are seen by searches, survive a reopen, and a search
never waits for a rebuild in progress (it answers from the previous matrix)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.services.rag.lexical import LexicalIndex, Tokenizer

DOCS = {
    "pump": ["The pump needs 3.5 bar.", "Service the pump every 400 hours."],
    "codes": ["Error E-1042 means the filter is blocked.", "Call prepend_first before run."],
}


def _index(folder: Path) -> LexicalIndex:
    index = LexicalIndex(folder, Tokenizer())
    index.add_documents(
        (d, [f"{d}-{i}" for i in range(len(texts))], texts) for d, texts in DOCS.items()
    )
    return index


def test_writes_searches_and_reopen(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.search("E-1042", 3)[0][0] == "codes-0"
    assert index.search("prepend_first", 3)[0][0] == "codes-1"
    assert [c for c, _ in index.search("pump", 5, {"codes"})] == []
    index.remove_document("codes")
    assert index.search("E-1042", 3) == []
    assert index.documents() == {"pump"}
    reopened = LexicalIndex(tmp_path, Tokenizer())
    assert reopened.documents() == {"pump"}
    assert reopened.search("service hours", 3)[0][0] == "pump-1"
    # A replaced document's old chunks are gone and its new ones found.
    reopened.add_documents([("pump", ["pump-9"], ["Replace the impeller yearly."])])
    assert reopened.chunk_ids(["pump"]) == ["pump-9"]
    assert reopened.search("impeller", 3)[0][0] == "pump-9"
    assert reopened.search("hours", 3) == []


def test_search_does_not_wait_for_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _index(tmp_path)
    building, release = threading.Event(), threading.Event()
    original = LexicalIndex._build

    def slow_build(self: LexicalIndex, docs):  # type: ignore[no-untyped-def]
        building.set()
        release.wait(10)
        return original(self, docs)

    monkeypatch.setattr(LexicalIndex, "_build", slow_build)
    writer = threading.Thread(
        target=index.add_documents, args=([("new", ["new-0"], ["Fresh text on valves."])],)
    )
    writer.start()
    assert building.wait(10)
    started = time.perf_counter()
    hits = index.search("E-1042", 3)
    elapsed = time.perf_counter() - started
    release.set()
    writer.join(10)
    assert hits and hits[0][0] == "codes-0"  # the previous matrix answered
    assert elapsed < 5, "the search waited for the rebuild"
    assert index.search("valves", 3)[0][0] == "new-0"  # and the new one is in place after
