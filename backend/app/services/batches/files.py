"""Files of the Files API: metadata in the database, contents under ``data_dir/files``, every
write atomic (temporary file, fsync, rename) so a crash never leaves half a file."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from app.core.db import Database, columns
from app.core.errors import NotFound
from app.schemas.batches import FileObject


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class FileStore:
    """Repository of files; ids look like OpenAI's (``file-...``)."""

    def __init__(self, db: Database, folder: Path) -> None:
        self.db = db
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, file_id: str) -> Path:
        return self.folder / f"{file_id}.jsonl"

    def create(self, filename: str, purpose: str, data: bytes) -> FileObject:
        file_id = f"file-{uuid.uuid4().hex}"
        write_atomic(self.path(file_id), data)
        created = int(time.time())
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO files (id, filename, purpose, bytes, created_at) "
                "VALUES (:id, :filename, :purpose, :bytes, :created_at)",
                {
                    "id": file_id,
                    "filename": filename,
                    "purpose": purpose,
                    "bytes": len(data),
                    "created_at": created,
                },
            )
        return FileObject(
            id=file_id, bytes=len(data), created_at=created, filename=filename, purpose=purpose
        )

    def get(self, file_id: str, param: str | None = None) -> FileObject:
        rows = self.db.query("SELECT * FROM files WHERE id = :id", {"id": file_id})
        if not rows:
            raise NotFound(f"No file with id '{file_id}'.", param=param, code="file_not_found")
        return FileObject(**columns(rows[0], "id", "bytes", "created_at", "filename", "purpose"))

    def all(self, purpose: str | None = None) -> list[FileObject]:
        sql = "SELECT id FROM files"
        args: dict[str, str] = {}
        if purpose:
            sql, args = sql + " WHERE purpose = :purpose", {"purpose": purpose}
        # created_at is whole seconds; id (random) only makes the order of ties stable.
        rows = self.db.query(sql + " ORDER BY created_at DESC, id DESC", args)
        return [self.get(row["id"]) for row in rows]

    def content(self, file_id: str) -> Path:
        self.get(file_id)
        return self.path(file_id)

    def delete(self, file_id: str) -> None:
        self.get(file_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM files WHERE id = :id", {"id": file_id})
        self.path(file_id).unlink(missing_ok=True)
