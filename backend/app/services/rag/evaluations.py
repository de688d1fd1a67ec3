"""RAG lab jobs: evaluations run in the background with progress, results kept in the database;
question sets parsed from uploads (JSONL/CSV) or written by a loaded model from sampled chunks.

Evaluations are a kind of background job (:mod:`app.services.jobs`): the row holds the request,
so a run a restart (or a lost worker) interrupted starts again from it, in this process or on a
queue worker. Progress goes to the row and to the event bus."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import logging
import random
import shutil
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any

from app.backends.base import ChatMessage
from app.core.db import Database
from app.core.errors import InvalidRequest, NotFound
from app.services.generation import GenerationService, ParamsInput
from app.services.jobs import JobContext, JobKind, JobRunner, RunsJobs
from app.services.rag.collections import CollectionService
from app.services.rag.evaluation import EvalConfig, EvalQuestion, SourceDocument, evaluate
from app.services.rag.rerank import Reranker
from app.services.rag.store import RagRepository

log = logging.getLogger(__name__)

JOB_KIND = "rag-eval"
ACTIVE = ("queued", "running")

QUESTION_PROMPT = (
    "Write one question that a user of this documentation might ask and that the passage "
    "below answers. Write only the question.\n\nPassage:\n{text}"
)


def parse_question_file(filename: str, data: bytes) -> list[dict[str, Any]]:
    """Questions from JSONL (one object a line) or CSV (header: question, document, pages,
    text; pages separated by ';' or ',')."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The question file must be UTF-8.", param="file") from exc
    rows: list[dict[str, Any]] = []
    if filename.lower().endswith(".csv"):
        for row in csv.DictReader(io.StringIO(text)):
            pages = (row.get("pages") or "").replace(";", ",")
            rows.append(
                {
                    "question": row.get("question") or "",
                    "document": row.get("document") or "",
                    "pages": [int(p) for p in pages.split(",") if p.strip().isdigit()],
                    "text": row.get("text") or None,
                }
            )
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise InvalidRequest(f"Line {number} is not JSON.", param="file") from exc
            if not isinstance(item, dict):
                raise InvalidRequest(f"Line {number} is not a JSON object.", param="file")
            rows.append(item)
    if not rows:
        raise InvalidRequest("The question file holds no questions.", param="file")
    return rows


@dataclass(eq=False)
class EvaluationService(RunsJobs):
    """Creates, runs, lists and deletes evaluation jobs."""

    db: Database
    repo: RagRepository
    collections: CollectionService
    generation: GenerationService | None
    files_dir: Path
    scratch: Path
    max_pages: int
    reranker: Reranker | None
    job_runner: InitVar[JobRunner | None] = None

    def __post_init__(self, job_runner: JobRunner | None) -> None:
        kind = JobKind(JOB_KIND, self._run_job, self.active_ids, self.give_up)
        self.use_runner(job_runner, kind)

    def start(self) -> None:
        """Clear the temporary indexes a previous process left (its interrupted evaluations
        start again from their stored request, with new ones)."""
        shutil.rmtree(self.scratch, ignore_errors=True)

    def active_ids(self) -> list[str]:
        rows = self.db.query(
            "SELECT id FROM rag_evaluations WHERE status IN ('queued', 'running') "
            "ORDER BY created_at"
        )
        return [r["id"] for r in rows]

    def give_up(self, evaluation_id: str, reason: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE rag_evaluations SET status = 'failed', error = :error "
                "WHERE id = :id AND status IN ('queued', 'running')",
                {"error": reason[:2000], "id": evaluation_id},
            )

    # --- rows --------------------------------------------------------------------------------
    def _update(self, evaluation_id: str, **fields: Any) -> bool:
        """Change an active row; False when it is no longer active (ended or deleted)."""
        assignments = ", ".join(f"{k} = :{k}" for k in fields)
        with self.db.transaction() as conn:
            cur = conn.execute(
                f"UPDATE rag_evaluations SET {assignments} "
                "WHERE id = :id AND status IN ('queued', 'running')",
                {**fields, "id": evaluation_id},
            )
            return bool(cur.rowcount)

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        out = dict(row)
        result = json.loads(out.pop("result") or "{}")
        out.pop("request", None)
        out["configurations"] = result.get("configurations", [])
        out["questions"] = result.get("questions", [])
        return out

    def get(self, evaluation_id: str) -> dict[str, Any]:
        rows = self.db.query("SELECT * FROM rag_evaluations WHERE id = :id", {"id": evaluation_id})
        if not rows:
            raise NotFound(f"Evaluation '{evaluation_id}' does not exist.", param="evaluation_id")
        return self._row(rows[0])

    def all(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, collection_id, status, progress, stage, error, "
            "created_at, NULL AS result FROM rag_evaluations "
            "ORDER BY created_at DESC"
        )
        return [self._row(r) for r in rows]

    async def delete(self, evaluation_id: str) -> None:
        self.get(evaluation_id)
        await self.runner.cancel(JOB_KIND, evaluation_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM rag_evaluations WHERE id = :id", {"id": evaluation_id})

    async def wait(self, evaluation_id: str) -> dict[str, Any]:
        """The evaluation once its run in this process (if any) ends."""
        await self.runner.wait(JOB_KIND, evaluation_id)
        return self.get(evaluation_id)

    # --- running -----------------------------------------------------------------------------
    async def create(
        self, collection_key: str, questions: list[EvalQuestion], configs: list[EvalConfig]
    ) -> dict[str, Any]:
        collection = self.collections.get(collection_key)
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise InvalidRequest("Configuration names must be unique.", param="configurations")
        for cfg in configs:
            cfg.embedding_model = cfg.embedding_model or collection["embedding_model"]
            self.collections.embedders.get(cfg.embedding_model, param="embedding_model")
            self.collections.check_chunking(cfg.chunk_size, cfg.chunk_overlap, None)
        docs = [d for d in self.repo.documents(collection["id"]) if d["status"] == "ready"]
        if not docs:
            raise InvalidRequest(
                "The knowledge base has no ingested documents.", param="collection"
            )
        known = {d["filename"] for d in docs} | {d["id"] for d in docs}
        unknown = sorted({q.document for q in questions} - known)
        if unknown:
            raise InvalidRequest(
                f"Questions name documents not in the knowledge base: {', '.join(unknown[:5])}.",
                param="questions",
            )
        evaluation_id = uuid.uuid4().hex
        request = {
            "questions": [q.__dict__ for q in questions],
            "configurations": [c.__dict__ for c in configs],
        }
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rag_evaluations (id, collection_id, status, request, "
                "created_at) VALUES (:id, :collection_id, 'queued', :request, :now)",
                {
                    "id": evaluation_id,
                    "collection_id": collection["id"],
                    "request": json.dumps(request),
                    "now": time.time(),
                },
            )
        await self.runner.submit(JOB_KIND, evaluation_id)
        return self.get(evaluation_id)

    async def _run_job(self, evaluation_id: str, ctx: JobContext) -> None:
        """Run an evaluation from its stored request; a no-op once its row is not active."""
        rows = self.db.query(
            "SELECT collection_id, status, request FROM rag_evaluations WHERE id = :id",
            {"id": evaluation_id},
        )
        if not rows or rows[0]["status"] not in ACTIVE:
            return
        request = json.loads(rows[0]["request"])
        questions = [EvalQuestion(**q) for q in request["questions"]]
        configs = [EvalConfig(**c) for c in request["configurations"]]
        docs = [d for d in self.repo.documents(rows[0]["collection_id"]) if d["status"] == "ready"]

        def progress(done: int, total: int, stage: str) -> None:
            event = {"status": "running", "progress": done / total, "stage": stage}
            ctx.loop.call_soon_threadsafe(
                functools.partial(self._progress, evaluation_id, ctx, event)
            )

        def work() -> dict[str, Any]:
            sources = [
                SourceDocument(
                    d["id"], d["filename"], (self.files_dir / d["stored_name"]).read_bytes()
                )
                for d in docs
            ]
            return evaluate(
                sources,
                questions,
                configs,
                lambda name: self.collections.embedders.get(name),
                self.scratch / evaluation_id,
                self.max_pages,
                self.reranker,
                progress,
                ctx.cancel.is_set,
            )

        self._progress(evaluation_id, ctx, {"status": "running", "stage": "starting"})
        try:
            result = await asyncio.to_thread(work)
        except Exception as exc:
            if isinstance(exc, InterruptedError):
                return  # deleted (the row is gone) or stopping (resumed later): nothing to mark
            log.exception("evaluation %s failed", evaluation_id)
            self._progress(
                evaluation_id,
                ctx,
                {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]},
            )
        else:
            await asyncio.sleep(0)  # let queued progress updates land before the final one
            self._update(evaluation_id, result=json.dumps(result))
            self._progress(
                evaluation_id, ctx, {"status": "succeeded", "progress": 1.0, "stage": "done"}
            )
        finally:
            shutil.rmtree(self.scratch / evaluation_id, ignore_errors=True)

    def _progress(self, evaluation_id: str, ctx: JobContext, event: dict[str, Any]) -> None:
        if self._update(evaluation_id, **event):
            ctx.publish({"id": evaluation_id, **event})

    # --- question sets -----------------------------------------------------------------------
    async def question_steps(
        self, collection_key: str, count: int, model: str | None, seed: int
    ) -> AsyncGenerator[QuestionProgress, None]:
        """One question per sampled chunk, written by a loaded model; each is labelled with
        its source chunk's document and pages. Yields a step before each question (so a client
        can show which model writes and how far it is) and a last one holding the questions."""
        assert self.generation is not None
        collection = self.collections.get(collection_key)
        ready = self.repo.ready_ids(collection["id"])
        hits = await asyncio.to_thread(self.collections.vectors.get, collection["vector_name"])
        hits = [h for h in hits if h.metadata.get("document_id") in ready and len(h.text) > 200]
        if not hits:
            raise InvalidRequest(
                "The knowledge base has no ingested chunks to sample.", param="collection"
            )
        picks = random.Random(seed).sample(hits, min(count, len(hits)))
        writer = model or await self.generation.manager.default_model_id_async() or ""
        out: list[dict[str, Any]] = []
        for done, hit in enumerate(picks):
            yield QuestionProgress(writer, done, len(picks))
            messages = [ChatMessage("user", QUESTION_PROMPT.format(text=hit.text[:1500]))]
            job = await self.generation.prepare(
                model, ParamsInput(max_tokens=60, temperature=0.0, seed=seed), messages=messages
            )
            writer = job.model.model_id
            outcome = await self.generation.run(job)
            question = outcome.text.strip().splitlines()[0].strip() if outcome.text.strip() else ""
            if not question:
                continue
            page = int(hit.metadata.get("page") or 0)
            last = int(hit.metadata.get("page_end") or page)
            out.append(
                {
                    "question": question[:2000],
                    "document": str(hit.metadata.get("filename")),
                    "pages": list(range(page, last + 1)) if page else [],
                    "text": None,
                    "source_chunk": hit.id,
                }
            )
        yield QuestionProgress(writer, len(picks), len(picks), out)

    async def generate_questions(
        self, collection_key: str, count: int, model: str | None, seed: int
    ) -> QuestionProgress:
        """:meth:`question_steps` run to the end: its last step, holding the questions."""
        last = QuestionProgress(model or "", 0, 0, [])
        async for step in self.question_steps(collection_key, count, model, seed):
            last = step
        return last


@dataclass
class QuestionProgress:
    """A step of question generation: the model writing, questions done of total; the last
    step carries the questions."""

    model: str
    done: int
    total: int
    questions: list[dict[str, Any]] | None = None
