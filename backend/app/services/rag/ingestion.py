"""Uploads become documents through background ingestion jobs with progress events.

An upload is validated and parsed completely before anything is stored, so bad input leaves no
trace. Then the file is written (aiofiles, generated name), the document and job rows are
inserted in one transaction, and a task chunks, embeds and stores vectors in batches, publishing
progress. A job that fails rolls back (vectors, file, document row); a job interrupted by a
shutdown or crash is resumed from its stored file at the next start (its partial vectors are
deleted first, and chunk ids are deterministic, so nothing is counted twice).

Ingestion is a kind of background job (:mod:`app.services.jobs`); with ``MP_REDIS_URL`` a queue
worker, perhaps in another process, runs it. A run is idempotent: it runs only while the job row is
active, deletes the document's partial vectors first and upserts chunks under deterministic ids
(``document:position``), and marks the job succeeded and the document ready in one conditional
update, so a job run again after its worker died ends with one set of vectors, marked ready once.
Progress goes through the event bus, so any replica can stream it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os
from sqlalchemy.exc import IntegrityError

from app.core.errors import AppError, InvalidRequest, NotFound
from app.services import metrics
from app.services.jobs import JobContext, JobKind, JobRunner, RunsJobs
from app.services.rag.chunk_filter import drop_toc
from app.services.rag.chunking import chunk_sections
from app.services.rag.collections import CollectionService
from app.services.rag.loaders import ParsedDocument, check_filename, parse
from app.services.rag.store import RagRepository

log = logging.getLogger(__name__)

TERMINAL = ("succeeded", "failed")
JOB_KIND = "ingest"
# With a queue, replicas share the files folder: a file younger than this may be an upload in
# flight on another replica (written just before its row), so the start-up sweep leaves it.
_ORPHAN_AGE_S = 3600


@dataclass
class UploadedFile:
    filename: str
    data: bytes


@dataclass
class UploadOptions:
    tags: list[str]
    metadata: dict[str, Any]
    chunk_size: int | None
    chunk_overlap: int | None


class _Interrupted(Exception):
    """The job was cancelled (its document deleted) or the process is stopping (the job stays
    active and resumes)."""


@dataclass(eq=False)
class IngestionService(RunsJobs):
    """Validates uploads, stores files and rows, runs and tracks ingestion jobs."""

    repo: RagRepository
    collections: CollectionService
    files_dir: Path
    max_pages: int
    job_runner: InitVar[JobRunner | None] = None
    # Uploads parsed by this process, so their first run does not parse them again.
    _parsed: dict[str, ParsedDocument] = field(default_factory=dict, init=False)

    def __post_init__(self, job_runner: JobRunner | None) -> None:
        self.use_runner(
            job_runner,
            JobKind(
                JOB_KIND,
                self._run_job,
                self.active_job_ids,
                self.give_up,
                should_stop=self._row_ended,
            ),
        )

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self, recover: bool = True) -> None:
        """Remove what a crash left half-stored (``recover``; not where another process may
        be storing an upload now). The runner resumes the jobs a previous run left active (a
        job whose file is gone is rolled back when it runs)."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        if not recover:
            await self.start_own_runner(resume=False)
            return
        # A crash can leave a document without a live job (mid-rollback) or a file without a
        # row (mid-upload); neither may survive.
        for doc in self.repo.orphan_documents():
            log.info("rolling back half-stored document %s (%s)", doc["id"], doc["filename"])
            await self._rollback_document(doc)
        known = {doc["stored_name"] for doc in self.repo.documents()}
        young = time.time() - _ORPHAN_AGE_S if self.runner.shared else float("inf")
        for path in self.files_dir.iterdir():
            if path.name not in known and path.stat().st_mtime < young:
                log.info("removing orphan upload file %s", path.name)
                await _remove(path)
        await self.start_own_runner()

    async def shutdown(self) -> None:
        """Stop jobs at their next batch; they stay active in the database and resume later."""
        await self.stop_own_runner()

    # --- upload ----------------------------------------------------------------------------------
    async def submit(
        self, collection_key: str, files: list[UploadedFile], options: UploadOptions
    ) -> list[dict[str, Any]]:
        """Validate every file, then store and queue each; duplicates are reported, not stored."""
        collection = self.collections.get(collection_key)
        size = options.chunk_size or collection["chunk_size"]
        overlap = options.chunk_overlap
        if overlap is None:  # the default overlap, shrunk for a small explicit chunk size
            overlap = min(collection["chunk_overlap"], size // 5)
        embedder = self.collections.embedder_for(collection)
        max_tokens = await asyncio.to_thread(lambda: embedder.max_tokens)
        self.collections.check_chunking(size, overlap, max_tokens)
        if not files:
            raise InvalidRequest("Upload at least one file.", param="files")
        parsed: list[tuple[UploadedFile, ParsedDocument, str]] = []
        for upload in files:
            check_filename(upload.filename)
            doc = await asyncio.to_thread(
                parse, upload.filename, upload.data, max_pages=self.max_pages
            )
            parsed.append((upload, doc, hashlib.sha256(upload.data).hexdigest()))

        results: list[dict[str, Any]] = []
        seen: dict[str, str] = {}
        for upload, doc, digest in parsed:
            existing = self.repo.document_by_hash(collection["id"], digest)
            dup_id = existing["id"] if existing else seen.get(digest)
            if dup_id:
                results.append(
                    {
                        "filename": upload.filename,
                        "document_id": dup_id,
                        "job_id": None,
                        "duplicate": True,
                    }
                )
                continue
            document_id, job_id = uuid.uuid4().hex, uuid.uuid4().hex
            stored_name = f"{document_id}.{doc.kind}"
            row = {
                "id": document_id,
                "collection_id": collection["id"],
                "filename": upload.filename,
                "kind": doc.kind,
                "sha256": digest,
                "size_bytes": len(upload.data),
                "pages": doc.pages,
                "tags": options.tags,
                "metadata": options.metadata,
                "stored_name": stored_name,
                "chunk_size": size,
                "chunk_overlap": overlap,
            }
            path = self.files_dir / stored_name
            try:
                async with aiofiles.open(path, "wb") as out:
                    await out.write(upload.data)
                self.repo.insert_document_and_job(row, job_id)
            except IntegrityError:
                # The same bytes arrived in a concurrent upload a moment ago.
                await _remove(path)
                existing = self.repo.document_by_hash(collection["id"], digest)
                if existing is None:
                    raise
                results.append(
                    {
                        "filename": upload.filename,
                        "document_id": existing["id"],
                        "job_id": None,
                        "duplicate": True,
                    }
                )
                continue
            except BaseException:
                await _remove(path)
                raise
            seen[digest] = document_id
            if not self.runner.shared:
                self._parsed[job_id] = doc
            await self.runner.submit(JOB_KIND, job_id)
            results.append(
                {
                    "filename": upload.filename,
                    "document_id": document_id,
                    "job_id": job_id,
                    "duplicate": False,
                }
            )
        return results

    # --- jobs ------------------------------------------------------------------------------------
    def job(self, job_id: str) -> dict[str, Any]:
        job = self.repo.job(job_id)
        if job is None:
            raise NotFound(f"Ingestion job '{job_id}' does not exist.", param="job_id")
        return job

    def peek(self, job_id: str) -> dict[str, Any] | None:
        """The job's row now, or None once it is gone."""
        return self.repo.job(job_id)

    def follow(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """The job's row as it changes, from whichever process runs it, until it succeeds or
        fails (or is deleted with its document)."""
        return self.runner.follow(
            JOB_KIND,
            job_id,
            lambda: self.peek(job_id),
            dict,
            lambda job: job["status"] in TERMINAL,
            5.0,
        )

    async def wait(self, job_id: str) -> dict[str, Any]:
        """Block until a job's run in this process ends (tests and the benchmark use it)."""
        await self.runner.wait(JOB_KIND, job_id)
        return self.job(job_id)

    def _publish(self, job_id: str, **fields: Any) -> None:
        if fields:
            self.repo.update_job(job_id, **fields)
        snapshot = self.repo.job(job_id)
        if snapshot is None:  # deleted meanwhile: nothing to tell
            return
        self.runner.publish(JOB_KIND, job_id, snapshot)

    # --- the job kind ------------------------------------------------------------------------
    async def _run_job(self, job_id: str, ctx: JobContext) -> None:
        """Run a job to its end; a no-op once its row is no longer active."""
        parsed = self._parsed.pop(job_id, None)
        job = self.repo.job(job_id)
        if job is None or job["status"] in TERMINAL:
            return
        doc = self.repo.document(job["document_id"])
        if doc is None or not (self.files_dir / doc["stored_name"]).exists():
            await self._rollback(job_id, doc, "interrupted and its stored file is missing")
            return
        await self._run(job_id, doc, parsed, ctx)

    def active_job_ids(self) -> list[str]:
        return [job["id"] for job in self.repo.active_jobs()]

    def give_up(self, job_id: str, reason: str) -> None:
        """Mark a queued job failed (the worker ran out of tries) and drop its document."""
        job = self.repo.job(job_id)
        if job is None or job["status"] in TERMINAL:
            return
        doc = self.repo.document(job["document_id"])
        if doc is not None:
            collection = self.repo.collection(doc["collection_id"])
            if collection is not None:
                self.collections.delete_vectors(collection, doc["id"])
            (self.files_dir / doc["stored_name"]).unlink(missing_ok=True)
            self.repo.delete_document(doc["id"])
        self._publish(job_id, status="failed", error=reason)

    def _row_ended(self, job_id: str) -> bool:
        """The row is final or gone (its document was deleted, perhaps on another replica)."""
        job = self.repo.job(job_id)
        return job is None or job["status"] in TERMINAL

    def _row_stopped(self, job_id: str) -> bool:
        """The row left 'running' under us (its document was deleted on some replica)."""
        job = self.repo.job(job_id)
        return job is None or job["status"] != "running"

    async def delete_document(self, document_id: str) -> None:
        """Remove a document's vectors, file and rows (its jobs too), stopping its ingestion
        first."""
        doc = self.repo.document(document_id)
        if doc is None:
            raise NotFound(f"Document '{document_id}' does not exist.", param="document_id")
        for job in self.repo.active_jobs():
            if job["document_id"] == document_id:
                await self.runner.cancel(JOB_KIND, job["id"])
                self._publish(job["id"], status="failed", error="document deleted")
        await self._rollback_document(doc)
        self.repo.delete_jobs_of(document_id)

    async def _run(
        self, job_id: str, doc: dict[str, Any], parsed: ParsedDocument | None, ctx: JobContext
    ) -> None:
        def progress(**fields: Any) -> None:
            ctx.loop.call_soon_threadsafe(lambda: self._publish(job_id, **fields))

        def stopped() -> bool:
            return ctx.cancelled

        started = time.perf_counter()
        try:
            if not self.repo.claim_job(job_id):
                return  # ended meanwhile (deleted, or finished by another run)
            self._publish(job_id)
            collection = self.collections.get(doc["collection_id"])
            await asyncio.to_thread(self.collections.delete_vectors, collection, doc["id"])
            if parsed is None:  # resumed after a restart: parse the stored file again
                data = (self.files_dir / doc["stored_name"]).read_bytes()
                parsed = await asyncio.to_thread(
                    parse, doc["filename"], data, max_pages=self.max_pages
                )
            chunks = await asyncio.to_thread(
                self._ingest, collection, doc, parsed, progress, stopped
            )
            if not self.repo.finish_job(job_id, doc["id"], chunks):
                log.info("ingestion job %s ended elsewhere; not marked again", job_id)
                return
            self._publish(job_id)
            metrics.RAG_DOCUMENTS.labels("succeeded").inc()
            metrics.RAG_INGESTION_SECONDS.observe(time.perf_counter() - started)
        except (asyncio.CancelledError, _Interrupted):
            # Deleted: delete_document rolls back. Shutdown: resumed at the next start.
            log.info("ingestion job %s interrupted", job_id)
            if not ctx.stopping and self._row_stopped(job_id):
                # Deleted on another replica while this worker embedded: its cleanup may have
                # run before this worker's last batch, so the vectors go once more.
                with contextlib.suppress(Exception):
                    collection = self.collections.get(doc["collection_id"])
                    await asyncio.to_thread(self.collections.delete_vectors, collection, doc["id"])
        except Exception as exc:
            if not isinstance(exc, AppError):
                log.exception("ingestion job %s failed", job_id)
            metrics.RAG_DOCUMENTS.labels("failed").inc()
            await self._rollback(job_id, doc, f"{type(exc).__name__}: {exc}")

    def _ingest(
        self,
        collection: dict[str, Any],
        doc: dict[str, Any],
        parsed: ParsedDocument,
        progress,
        stopped: Callable[[], bool],
    ) -> int:
        embedder = self.collections.embedder_for(collection)
        chunks = []
        for i, section in enumerate(parsed.sections):
            chunks.extend(
                chunk_sections(
                    [section], doc["chunk_size"], doc["chunk_overlap"], embedder.offsets_fn
                )
            )
            if stopped():
                raise _Interrupted
            if i % 20 == 0 or i == len(parsed.sections) - 1:
                pages = section.page or parsed.pages
                progress(pages_parsed=pages)
        chunks, skipped = drop_toc(chunks)
        for position, chunk in enumerate(chunks):
            chunk.position = position
        progress(pages_parsed=parsed.pages, chunks_total=len(chunks), chunks_skipped=skipped)
        batch = max(1, self.collections.settings.rag_embedding_batch_size)
        for start in range(0, len(chunks), batch):
            if stopped():
                raise _Interrupted
            part = chunks[start : start + batch]
            vectors = embedder.embed([c.indexed_text for c in part])
            self.collections.add_chunks(collection, doc, part, vectors)
            metrics.RAG_CHUNKS_EMBEDDED.inc(len(part))
            progress(chunks_embedded=start + len(part))
        self.collections.add_lexical(collection, doc, chunks)
        return len(chunks)

    async def _rollback(self, job_id: str, doc: dict[str, Any] | None, reason: str) -> None:
        if doc is not None:
            await self._rollback_document(doc)
        self._publish(job_id, status="failed", error=reason[:2000])

    async def _rollback_document(self, doc: dict[str, Any]) -> None:
        # Vectors first, then the file, then the row: a crash midway leaves the row, so a
        # later delete (or the restart rollback) can still find and finish the cleanup.
        collection = self.repo.collection(doc["collection_id"])
        if collection is not None:
            await asyncio.to_thread(self.collections.delete_vectors, collection, doc["id"])
        await _remove(self.files_dir / doc["stored_name"])
        self.repo.delete_document(doc["id"])


async def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        await aiofiles.os.remove(path)


async def read_upload(upload: Any, limit: int) -> UploadedFile:
    """Read an UploadFile in blocks, refusing it as soon as it passes ``limit`` bytes."""
    from app.core.errors import PayloadTooLarge

    parts, total = [], 0
    while block := await upload.read(1 << 20):
        total += len(block)
        if total > limit:
            raise PayloadTooLarge(
                f"'{upload.filename}' is over the {limit}-byte upload limit.", param="files"
            )
        parts.append(block)
    return UploadedFile(upload.filename or "", b"".join(parts))
