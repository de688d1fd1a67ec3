"""BM25 lexical index of one knowledge base (bm25s), persisted beside the vectors.

The dense model misses exact identifiers (``prepend_first``, ``SHA-512/256``, an error code);
BM25 over the same chunks finds them. bm25s scores from a sparse matrix whose statistics (idf,
average length) cover the whole corpus, so it has no incremental insert: we keep each
document's tokens as a shard file (``docs/<document id>.json``) and rebuild the in-memory
matrix when a document is added or removed, never per query. At 100k chunks a rebuild takes a
few seconds (measured in docs/benchmarks.md), paid by the ingestion job in its thread while
queries keep answering from the previous matrix (see :class:`LexicalIndex`).

Tokens: lower-cased words with the Snowball English stemmer (PyStemmer) and bm25s's English stop
words; a word with inner punctuation (``prepend_first``, ``sha-512/256``, ``v1.2``) is kept whole
*and* split into its parts, so both the identifier and its pieces match.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_WORD = re.compile(r"[\w][\w.\-/:+#]*[\w+#]|[\w]", re.UNICODE)
_PART = re.compile(r"[^\W_]+", re.UNICODE)


class Tokenizer:
    """Words to BM25 terms (see the module docstring)."""

    def __init__(self) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN

        self._stem = Stemmer.Stemmer("english").stemWord
        self._stop = set(STOPWORDS_EN)
        self._cache: dict[str, list[str]] = {}

    def _terms(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = _PART.findall(word)
        if len(parts) == 1 and parts[0] == word:
            out = [] if word in self._stop else [self._stem(word)]
        else:
            out = [word] + [self._stem(p) for p in parts if p not in self._stop]
        if len(self._cache) < 200_000:
            self._cache[word] = out
        return out

    def __call__(self, text: str) -> list[str]:
        terms: list[str] = []
        for word in _WORD.findall(text.lower()):
            terms.extend(self._terms(word))
        return terms


def identifiers(text: str) -> list[str]:
    """Words of ``text`` that look like identifiers (error codes, function names, versions):
    they hold a digit, an underscore or inner punctuation."""
    out = []
    for word in _WORD.findall(text.lower()):
        if any(ch.isdigit() for ch in word) or not word.isalpha():
            out.append(word)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class _Snapshot:
    """One built BM25 matrix and the chunk ids of its rows; replaced whole, never mutated."""

    retriever: Any
    vocab: dict[str, int]
    chunk_ids: list[str]
    chunk_docs: np.ndarray  # row -> position of its document in ``doc_index``
    doc_index: dict[str, int]


_EMPTY = _Snapshot(None, {}, [], np.zeros(0, dtype=np.int32), {})


class LexicalIndex:
    """BM25 over the chunks of one knowledge base; thread-safe; blocking calls.

    Searches read an immutable snapshot and never wait for a rebuild: a write (serialized
    with other writes) builds the next matrix outside the read lock and swaps it in, so
    queries during an ingestion answer from the previous state. Each document's terms are
    kept as integer ids of an append-only vocabulary, so a rebuild only re-indexes the
    matrix (bm25s) and does not re-map every chunk's words; the vocabulary is compacted when
    the index is reopened.
    """

    def __init__(self, folder: Path, tokenizer: Tokenizer) -> None:
        self.folder = folder
        self.tokenize = tokenizer
        self._lock = threading.Lock()  # guards _docs and _snapshot (short holds only)
        self._write_lock = threading.Lock()  # one writer at a time
        self._docs: dict[str, tuple[list[str], list[list[int]]]] = {}
        self._terms: dict[str, int] = {}  # append-only; only writers touch it
        self._snapshot = _EMPTY
        self._load()

    @property
    def _shards(self) -> Path:
        return self.folder / "docs"

    def _ids(self, terms: list[str]) -> list[int]:
        vocab = self._terms
        return [vocab.setdefault(t, len(vocab)) for t in terms]

    def _load(self) -> None:
        if not self._shards.is_dir():
            return
        for path in sorted(self._shards.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # a shard cut short by a crash; re-ingest fixes it
                continue
            self._docs[path.stem] = (
                data["ids"],
                [self._ids(t.split(" ")) if t else [] for t in data["tokens"]],
            )
        self._snapshot = self._build(self._docs)

    # --- writes ------------------------------------------------------------------------------
    def add_documents(self, items: Iterable[tuple[str, list[str], list[str]]]) -> None:
        """Add (or replace) documents given as ``(document_id, chunk_ids, texts)``, then rebuild
        once. ``texts`` are what is indexed (section title + chunk text)."""
        with self._write_lock:
            self._shards.mkdir(parents=True, exist_ok=True)
            added: dict[str, tuple[list[str], list[list[int]]]] = {}
            for document_id, ids, texts in items:
                tokens = [self.tokenize(t) for t in texts]
                shard = {"ids": ids, "tokens": [" ".join(t) for t in tokens]}
                tmp = self._shards / f".{document_id}.tmp"
                tmp.write_text(json.dumps(shard))
                os.replace(tmp, self._shards / f"{document_id}.json")
                added[document_id] = (list(ids), [self._ids(t) for t in tokens])
            with self._lock:
                docs = {**self._docs, **added}
            snapshot = self._build(docs)
            with self._lock:
                self._docs, self._snapshot = docs, snapshot

    def remove_document(self, document_id: str) -> None:
        with self._write_lock:
            (self._shards / f"{document_id}.json").unlink(missing_ok=True)
            with self._lock:
                if document_id not in self._docs:
                    return
                docs = {d: v for d, v in self._docs.items() if d != document_id}
            snapshot = self._build(docs)
            with self._lock:
                self._docs, self._snapshot = docs, snapshot

    def _build(self, docs: dict[str, tuple[list[str], list[list[int]]]]) -> _Snapshot:
        import bm25s
        from bm25s.tokenization import Tokenized

        corpus: list[list[int]] = []
        chunk_ids: list[str] = []
        chunk_docs: list[int] = []
        doc_index: dict[str, int] = {}
        for d, (document_id, (ids, tokens)) in enumerate(docs.items()):
            doc_index[document_id] = d
            corpus.extend(tokens)
            chunk_ids.extend(ids)
            chunk_docs.extend([d] * len(ids))
        if not corpus:
            return _EMPTY
        vocab = dict(self._terms)
        retriever = bm25s.BM25()
        retriever.index(Tokenized(ids=corpus, vocab=vocab), show_progress=False)
        return _Snapshot(
            retriever, vocab, chunk_ids, np.asarray(chunk_docs, dtype=np.int32), doc_index
        )

    # --- reads -------------------------------------------------------------------------------
    def documents(self) -> set[str]:
        with self._lock:
            return set(self._docs)

    def size(self) -> int:
        return len(self._snapshot.chunk_ids)

    def chunk_ids(self, document_ids: Iterable[str]) -> list[str]:
        with self._lock:
            docs = self._docs
        return [c for d in document_ids if d in docs for c in docs[d][0]]

    def search(
        self, query: str, k: int, document_ids: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Best ``k`` chunks as ``(chunk_id, bm25 score)``, only those with a positive score,
        restricted to ``document_ids`` when given."""
        with self._lock:
            snap = self._snapshot
        if snap.retriever is None:
            return []
        terms = [snap.vocab[t] for t in self.tokenize(query) if t in snap.vocab]
        if not terms:
            return []
        scores = np.asarray(snap.retriever.get_scores(terms), dtype=np.float32)
        if document_ids is not None:
            wanted = np.asarray(
                [snap.doc_index[d] for d in document_ids if d in snap.doc_index], dtype=np.int32
            )
            scores = np.where(np.isin(snap.chunk_docs, wanted), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(snap.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]


class LexicalIndexes:
    """One :class:`LexicalIndex` per knowledge base, opened on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._indexes: dict[str, LexicalIndex] = {}
        self._lock = threading.Lock()
        self._tokenizer: Tokenizer | None = None

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer()
        return self._tokenizer

    def get(self, collection_id: str) -> LexicalIndex:
        with self._lock:
            index = self._indexes.get(collection_id)
            if index is None:
                index = LexicalIndex(self.root / collection_id, self.tokenizer)
                self._indexes[collection_id] = index
            return index

    def drop(self, collection_id: str) -> None:
        import shutil

        with self._lock:
            self._indexes.pop(collection_id, None)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root / collection_id)
