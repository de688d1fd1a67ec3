"""Prompt-set runs: ``/api/v1/arena/runs`` (create from pasted rows or an uploaded file, list,
read, live progress, cancel, re-run, thumbs per cell, exports)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from sse_starlette import ServerSentEvent

from app.api.deps import PromptRunsDep
from app.api.openai.files import read_capped
from app.api.sse import event, sse_response
from app.schemas.common import described_responses, error_responses
from app.schemas.prompt_runs import (
    PromptRun,
    PromptRunCreate,
    PromptRunList,
    RatingRequest,
    RunCell,
)
from app.services.arena.runs_summary import export_csv

router = APIRouter(prefix="/arena/runs", tags=["prompt-runs"])


@router.post("", status_code=201, response_model=PromptRun, responses=error_responses(400, 404))
async def create_run(body: PromptRunCreate, runs: PromptRunsDep) -> PromptRun:
    """Start a run from pasted rows; a malformed row is a 400 naming its number."""
    return await runs.create_pasted(body)


@router.post(
    "/upload", status_code=201, response_model=PromptRun, responses=error_responses(400, 404, 413)
)
async def upload_run(
    runs: PromptRunsDep,
    file: Annotated[UploadFile, File(description="The prompt set: .jsonl or .csv.")],
    config: Annotated[str, Form(description="PromptRunConfig as JSON: name, models, params.")],
) -> PromptRun:
    """Start a run from an uploaded JSONL or CSV prompt set."""
    data = await read_capped(file, runs.settings.files_max_bytes)
    return await runs.create_upload(config, data, file.filename or "")


@router.get("", response_model=PromptRunList)
async def list_runs(runs: PromptRunsDep) -> PromptRunList:
    """Runs, newest first."""
    return runs.runs()


@router.get("/{run_id}", response_model=PromptRun, responses=error_responses(404))
async def get_run(run_id: str, runs: PromptRunsDep) -> PromptRun:
    """Status, progress, every cell and the per-model summaries."""
    return runs.view(run_id)


@router.get(
    "/{run_id}/events",
    responses=described_responses(
        "Server-sent `progress` events (RunEvent: status, counts, the cells "
        "finished since the last one) until the run ends, then `end`.",
        404,
        media=("text/event-stream",),
    ),
)
async def run_events(run_id: str, runs: PromptRunsDep):
    """Live progress of a run."""
    runs.view(run_id)  # 404 before the stream starts
    return sse_response(_events(runs, run_id))


async def _events(runs: PromptRunsDep, run_id: str) -> AsyncIterator[ServerSentEvent]:
    async for item in runs.events(run_id):
        yield event(item, "progress")
    yield event({}, "end")


@router.post("/{run_id}/cancel", response_model=PromptRun, responses=error_responses(404, 409))
async def cancel_run(run_id: str, runs: PromptRunsDep) -> PromptRun:
    """Stop a run; finished cells are kept."""
    return runs.cancel(run_id)


@router.post(
    "/{run_id}/rerun", status_code=201, response_model=PromptRun, responses=error_responses(404)
)
async def rerun_run(run_id: str, runs: PromptRunsDep) -> PromptRun:
    """A new run from this run's manifest: same rows, models, backends, parameters and seed."""
    return await runs.rerun(run_id)


@router.put(
    "/{run_id}/cells/{row}/{model:path}/rating",
    response_model=RunCell,
    responses=error_responses(404, 409),
)
async def rate_cell(
    run_id: str, row: int, model: str, body: RatingRequest, runs: PromptRunsDep
) -> RunCell:
    """Thumbs up or down on one answer (null clears); they feed the arena leaderboard."""
    return runs.rate(run_id, row, model, body.thumb)


@router.get("/{run_id}/export.json", response_model=PromptRun, responses=error_responses(404))
async def export_run_json(run_id: str, runs: PromptRunsDep, response: Response) -> PromptRun:
    """The whole run with its manifest, as a download."""
    # Looked up first: the file name comes from the stored (ASCII) id, never from the path,
    # which may hold anything (a header cannot carry non-latin-1 text: that was a 500).
    run = runs.view(run_id)
    response.headers["Content-Disposition"] = f'attachment; filename="{run.id}.json"'
    return run


@router.get(
    "/{run_id}/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(404)},
)
async def export_run_csv(run_id: str, runs: PromptRunsDep) -> Response:
    """One line per cell, each with its model's digest, backend, seed and parameters."""
    run = runs.view(run_id)
    return Response(
        export_csv(run),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{run.id}.csv"'},
    )
