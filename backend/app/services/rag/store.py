"""SQLite rows of RAG: knowledge bases, documents and ingestion jobs (tables owned by RAG)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from app.core.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_collections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    embedding_model TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL,
    chunk_overlap INTEGER NOT NULL,
    vector_name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rag_documents (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL REFERENCES rag_collections(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    stored_name TEXT NOT NULL,
    chunk_size INTEGER NOT NULL,
    chunk_overlap INTEGER NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (collection_id, sha256)
);
CREATE TABLE IF NOT EXISTS rag_jobs (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    status TEXT NOT NULL,
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_parsed INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    chunks_embedded INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rag_documents_collection ON rag_documents(collection_id);
CREATE INDEX IF NOT EXISTS rag_jobs_status ON rag_jobs(status);
"""

ACTIVE_JOB_STATES = ("queued", "running")


def _document(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["tags"] = json.loads(out["tags"])
    out["metadata"] = json.loads(out["metadata"])
    return out


class RagRepository:
    """Plain functions over the RAG tables; every write is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(SCHEMA)
        # Knowledge bases made before retrieval modes existed get the default (hybrid).
        columns = {r["name"] for r in db.query("PRAGMA table_info(rag_collections)")}
        if "retrieval_mode" not in columns:
            with db.transaction() as conn:
                conn.execute(
                    "ALTER TABLE rag_collections ADD COLUMN retrieval_mode TEXT "
                    "NOT NULL DEFAULT 'hybrid'"
                )

    # --- collections -----------------------------------------------------------------------------
    def insert_collection(self, row: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rag_collections (id, name, description, embedding_model, dimension, "
                "chunk_size, chunk_overlap, vector_name, created_at, retrieval_mode) VALUES (:id, "
                ":name, :description, :embedding_model, :dimension, :chunk_size, "
                ":chunk_overlap, :vector_name, :created_at, :retrieval_mode)",
                row,
            )

    def collections(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT c.*, (SELECT COUNT(*) FROM rag_documents d WHERE d.collection_id = c.id "
            "AND d.status = 'ready') AS documents FROM rag_collections c ORDER BY c.created_at"
        )
        return [dict(r) for r in rows]

    def collection(self, key: str) -> dict[str, Any] | None:
        """A collection by id or by name."""
        rows = self.db.query(
            "SELECT c.*, (SELECT COUNT(*) FROM rag_documents d WHERE d.collection_id = c.id "
            "AND d.status = 'ready') AS documents FROM rag_collections c "
            "WHERE c.id = ? OR c.name = ?",
            (key, key),
        )
        return dict(rows[0]) if rows else None

    def set_retrieval_mode(self, collection_id: str, mode: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE rag_collections SET retrieval_mode = ? WHERE id = ?", (mode, collection_id)
            )

    def delete_collection(self, collection_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM rag_jobs WHERE collection_id = ?", (collection_id,))
            conn.execute("DELETE FROM rag_collections WHERE id = ?", (collection_id,))

    # --- documents and jobs ----------------------------------------------------------------------
    def insert_document_and_job(self, doc: dict[str, Any], job_id: str) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rag_documents (id, collection_id, filename, kind, sha256, size_bytes, "
                "pages, status, tags, metadata, stored_name, chunk_size, chunk_overlap, "
                "created_at) VALUES (:id, :collection_id, :filename, :kind, :sha256, :size_bytes, "
                ":pages, 'ingesting', :tags, :metadata, :stored_name, :chunk_size, "
                ":chunk_overlap, :created_at)",
                {
                    **doc,
                    "tags": json.dumps(doc["tags"]),
                    "metadata": json.dumps(doc["metadata"]),
                    "created_at": now,
                },
            )
            conn.execute(
                "INSERT INTO rag_jobs (id, document_id, collection_id, filename, status, "
                "pages_total, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                (job_id, doc["id"], doc["collection_id"], doc["filename"], doc["pages"], now, now),
            )

    def document(self, document_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM rag_documents WHERE id = ?", (document_id,))
        return _document(rows[0]) if rows else None

    def document_by_hash(self, collection_id: str, sha256: str) -> dict[str, Any] | None:
        rows = self.db.query(
            "SELECT * FROM rag_documents WHERE collection_id = ? AND sha256 = ?",
            (collection_id, sha256),
        )
        return _document(rows[0]) if rows else None

    def documents(self, collection_id: str | None = None) -> list[dict[str, Any]]:
        if collection_id is None:
            rows = self.db.query("SELECT * FROM rag_documents ORDER BY created_at")
        else:
            rows = self.db.query(
                "SELECT * FROM rag_documents WHERE collection_id = ? ORDER BY created_at",
                (collection_id,),
            )
        return [_document(r) for r in rows]

    def ready_ids(self, collection_id: str) -> set[str]:
        rows = self.db.query(
            "SELECT id FROM rag_documents WHERE collection_id = ? AND status = 'ready'",
            (collection_id,),
        )
        return {r["id"] for r in rows}

    def orphan_documents(self) -> list[dict[str, Any]]:
        """Documents still marked ingesting whose job is no longer queued or running."""
        rows = self.db.query(
            "SELECT * FROM rag_documents d WHERE d.status = 'ingesting' AND NOT EXISTS "
            "(SELECT 1 FROM rag_jobs j WHERE j.document_id = d.id "
            "AND j.status IN ('queued', 'running'))"
        )
        return [_document(r) for r in rows]

    def delete_document(self, document_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM rag_documents WHERE id = ?", (document_id,))

    def delete_jobs_of(self, document_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM rag_jobs WHERE document_id = ?", (document_id,))

    def claim_job(self, job_id: str) -> bool:
        """Mark a queued (or interrupted running) job running; False once it has ended."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE rag_jobs SET status = 'running', updated_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (time.time(), job_id),
            )
            return cur.rowcount == 1

    def finish_job(self, job_id: str, document_id: str, chunks: int) -> bool:
        """Mark a running job succeeded and its document ready, together and only once."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE rag_jobs SET status = 'succeeded', updated_at = ? "
                "WHERE id = ? AND status = 'running'",
                (time.time(), job_id),
            )
            if cur.rowcount != 1:
                return False
            conn.execute(
                "UPDATE rag_documents SET status = 'ready', chunks = ? WHERE id = ?",
                (chunks, document_id),
            )
            return True

    def job(self, job_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM rag_jobs WHERE id = ?", (job_id,))
        return dict(rows[0]) if rows else None

    def active_jobs(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT * FROM rag_jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
        )
        return [dict(r) for r in rows]

    def update_job(self, job_id: str, **fields: Any) -> None:
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{key} = :{key}" for key in fields)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE rag_jobs SET {assignments} WHERE id = :id", {**fields, "id": job_id}
            )
