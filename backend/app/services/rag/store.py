"""Rows of RAG in the metadata database: knowledge bases, documents and ingestion jobs."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy.engine import RowMapping

from app.core.db import Repository

ACTIVE_JOB_STATES = ("queued", "running")


def _document(row: RowMapping) -> dict[str, Any]:
    out = dict(row)
    out["tags"] = json.loads(out["tags"])
    out["metadata"] = json.loads(out["metadata"])
    return out


class RagRepository(Repository):
    """Plain functions over the RAG tables; every write is one transaction."""

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
            "WHERE c.id = :key OR c.name = :key",
            {"key": key},
        )
        return dict(rows[0]) if rows else None

    def set_retrieval_mode(self, collection_id: str, mode: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE rag_collections SET retrieval_mode = :mode WHERE id = :id",
                {"mode": mode, "id": collection_id},
            )

    def delete_collection(self, collection_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM rag_jobs WHERE collection_id = :id", {"id": collection_id})
            conn.execute("DELETE FROM rag_collections WHERE id = :id", {"id": collection_id})

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
                "pages_total, created_at, updated_at) VALUES (:id, :document_id, :collection_id, "
                ":filename, 'queued', :pages, :now, :now)",
                {
                    "id": job_id,
                    "document_id": doc["id"],
                    "collection_id": doc["collection_id"],
                    "filename": doc["filename"],
                    "pages": doc["pages"],
                    "now": now,
                },
            )

    def document(self, document_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM rag_documents WHERE id = :id", {"id": document_id})
        return _document(rows[0]) if rows else None

    def document_by_hash(self, collection_id: str, sha256: str) -> dict[str, Any] | None:
        rows = self.db.query(
            "SELECT * FROM rag_documents WHERE collection_id = :collection_id AND sha256 = :sha",
            {"collection_id": collection_id, "sha": sha256},
        )
        return _document(rows[0]) if rows else None

    def documents(self, collection_id: str | None = None) -> list[dict[str, Any]]:
        if collection_id is None:
            rows = self.db.query("SELECT * FROM rag_documents ORDER BY created_at")
        else:
            rows = self.db.query(
                "SELECT * FROM rag_documents WHERE collection_id = :id ORDER BY created_at",
                {"id": collection_id},
            )
        return [_document(r) for r in rows]

    def ready_ids(self, collection_id: str) -> set[str]:
        rows = self.db.query(
            "SELECT id FROM rag_documents WHERE collection_id = :id AND status = 'ready'",
            {"id": collection_id},
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
            conn.execute("DELETE FROM rag_documents WHERE id = :id", {"id": document_id})

    def delete_jobs_of(self, document_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM rag_jobs WHERE document_id = :id", {"id": document_id})

    def claim_job(self, job_id: str) -> bool:
        """Mark a queued (or interrupted running) job running; False once it has ended."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE rag_jobs SET status = 'running', updated_at = :now "
                "WHERE id = :id AND status IN ('queued', 'running')",
                {"now": time.time(), "id": job_id},
            )
            return cur.rowcount == 1

    def finish_job(self, job_id: str, document_id: str, chunks: int) -> bool:
        """Mark a running job succeeded and its document ready, together and only once."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE rag_jobs SET status = 'succeeded', updated_at = :now "
                "WHERE id = :id AND status = 'running'",
                {"now": time.time(), "id": job_id},
            )
            if cur.rowcount != 1:
                return False
            conn.execute(
                "UPDATE rag_documents SET status = 'ready', chunks = :chunks WHERE id = :id",
                {"chunks": chunks, "id": document_id},
            )
            return True

    def job(self, job_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM rag_jobs WHERE id = :id", {"id": job_id})
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
