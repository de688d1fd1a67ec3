"""RAG lab routes: question sets (upload or generate) and evaluation jobs with export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request, Response
from sse_starlette import ServerSentEvent

from app.api.deps import RagDep
from app.api.sse import error_event, event, sse_response
from app.core.errors import AppError, InvalidRequest
from app.schemas.common import described_responses, error_responses, multipart_body
from app.schemas.rag_eval import (
    EvalQuestionIn,
    Evaluation,
    EvaluationCreate,
    GenerateQuestions,
    QuestionProgressEvent,
    QuestionSet,
)
from app.services.rag.evaluation import EvalConfig, EvalQuestion
from app.services.rag.evaluations import QuestionProgress, parse_question_file

router = APIRouter(prefix="/rag/evaluations", tags=["rag-lab"])

QUESTIONS_UPLOAD = multipart_body(
    ["file"],
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "JSONL (one {question, document, pages?, text?} per line) or "
            "CSV with those columns.",
        }
    },
)


@router.post(
    "/questions/upload",
    response_model=QuestionSet,
    openapi_extra=QUESTIONS_UPLOAD,
    responses=error_responses(400, 413),
)
async def upload_questions(request: Request):
    """Parse a question file for review; nothing is stored."""
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidRequest("Send the question file as the multipart field 'file'.", param="file")
    data = await upload.read(4 * 1024 * 1024 + 1)
    if len(data) > 4 * 1024 * 1024:
        raise InvalidRequest("The question file is over 4 MiB.", param="file")
    rows = parse_question_file(upload.filename or "", data)
    try:
        return QuestionSet(questions=[EvalQuestionIn(**r) for r in rows])
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"A question is malformed: {str(exc)[:300]}", param="file") from exc


@router.post(
    "/questions/generate",
    response_model=QuestionSet,
    responses=described_responses(
        "JSON, or with stream=true SSE: `progress` (QuestionProgressEvent) "
        "before each question, then `done` (QuestionSet) or `error` (the envelope).",
        400,
        404,
        503,
    ),
)
async def generate_questions(body: GenerateQuestions, rag: RagDep):
    """A loaded model writes one question per sampled chunk, labelled with that chunk's
    document and pages, for review and editing before a run."""
    if not body.stream:
        last = await rag.evaluations.generate_questions(
            body.collection, body.count, body.model, body.seed
        )
        return _question_set(last)
    steps = rag.evaluations.question_steps(body.collection, body.count, body.model, body.seed)
    # The first step checks the knowledge base: a bad request is a 4xx, not a stream.
    first = await anext(steps)
    return sse_response(_question_events(first, steps))


def _question_set(step: QuestionProgress) -> QuestionSet:
    rows = step.questions or []
    return QuestionSet(questions=[EvalQuestionIn(**r) for r in rows], model=step.model or None)


async def _question_events(
    first: QuestionProgress, steps: AsyncGenerator[QuestionProgress, None]
) -> AsyncIterator[ServerSentEvent]:
    step = first
    try:
        while True:
            if step.questions is not None:
                yield event(_question_set(step), "done")
                return
            progress = QuestionProgressEvent(model=step.model, done=step.done, total=step.total)
            yield event(progress, "progress")
            step = await anext(steps)
    except AppError as exc:
        yield error_event(exc, "error")
    finally:
        await steps.aclose()  # a client that left stops the generation between questions


@router.post("", response_model=Evaluation, status_code=202, responses=error_responses(400, 404))
async def create_evaluation(body: EvaluationCreate, rag: RagDep):
    """Start an evaluation: each configuration's temporary index is built in the background,
    every question asked, metrics computed; the temporary indexes are removed afterwards."""
    questions = [EvalQuestion(**q.model_dump()) for q in body.questions]
    configs = [EvalConfig(**c.model_dump()) for c in body.configurations]
    return await rag.evaluations.create(body.collection, questions, configs)


@router.get("", response_model=list[Evaluation])
async def list_evaluations(rag: RagDep):
    """All evaluations, newest first (without per-question results)."""
    return rag.evaluations.all()


@router.get("/{evaluation_id}", response_model=Evaluation, responses=error_responses(404))
async def get_evaluation(evaluation_id: str, rag: RagDep):
    """Status, progress and, once done, metrics per configuration and the drill-down."""
    return rag.evaluations.get(evaluation_id)


@router.get(
    "/{evaluation_id}/export",
    responses=described_responses(
        "JSON (the evaluation) or CSV (one row per question and configuration).",
        404,
        media=(
            "text/csv",
            "application/json",
        ),
    ),
)
async def export_evaluation(
    evaluation_id: str, rag: RagDep, format: Literal["json", "csv"] = "json"
):  # noqa: A002
    """Download the results."""
    evaluation = rag.evaluations.get(evaluation_id)
    name = f"evaluation-{evaluation_id[:8]}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return Response(
            json.dumps(evaluation, indent=1), media_type="application/json", headers=headers
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "question",
            "document",
            "pages",
            "configuration",
            "hit_at_1",
            "hit_at_5",
            "reciprocal_rank",
            "ndcg_at_5",
            "top_chunk",
            "top_pages",
        ]
    )
    for q in evaluation["questions"]:
        for config, r in q["results"].items():
            top = r["chunks"][0] if r["chunks"] else None
            writer.writerow(
                [
                    q["question"],
                    q["document"],
                    ";".join(map(str, q["pages"])),
                    config,
                    r["hit1"],
                    r["hit5"],
                    round(r["rr"], 4),
                    round(r["ndcg5"], 4),
                    top["chunk_id"] if top else "",
                    f"{top['page']}-{top['page_end']}" if top else "",
                ]
            )
    return Response(out.getvalue(), media_type="text/csv", headers=headers)


@router.delete("/{evaluation_id}", status_code=204, responses=error_responses(404))
async def delete_evaluation(evaluation_id: str, rag: RagDep):
    """Delete an evaluation (stopping it first)."""
    await rag.evaluations.delete(evaluation_id)
    return Response(status_code=204)
