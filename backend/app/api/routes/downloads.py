"""Model downloads as background jobs: ``/api/v1/downloads``."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import DownloadsDep
from app.api.sse import job_events, job_events_doc
from app.schemas.common import error_responses
from app.schemas.downloads import DownloadJobInfo, DownloadList, DownloadRequest

router = APIRouter(prefix="/downloads", tags=["downloads"])


@router.post(
    "",
    response_model=DownloadJobInfo,
    status_code=202,
    responses=error_responses(400, 403, 404, 409, 502, 507),
)
async def start_download(body: DownloadRequest, downloads: DownloadsDep) -> DownloadJobInfo:
    """Start downloading a Hub repo (or chosen files) or a .gguf URL into the models folder.
    The file list, sizes and free disk are checked before the job is accepted."""
    return await downloads.create(body)


@router.get("", response_model=DownloadList)
async def list_downloads(downloads: DownloadsDep) -> DownloadList:
    """Every download job, oldest first."""
    return DownloadList(data=downloads.list_jobs())


@router.get("/{job_id}", response_model=DownloadJobInfo, responses=error_responses(404))
async def get_download(job_id: str, downloads: DownloadsDep) -> DownloadJobInfo:
    """One job with its live progress."""
    return downloads.info(downloads.get(job_id))


@router.post(
    "/{job_id}/cancel", response_model=DownloadJobInfo, responses=error_responses(404, 409)
)
async def cancel_download(job_id: str, downloads: DownloadsDep) -> DownloadJobInfo:
    """Stop a queued or running job; partial files stay so resume continues from them."""
    return await downloads.cancel(job_id)


@router.post(
    "/{job_id}/resume",
    response_model=DownloadJobInfo,
    responses=error_responses(404, 409, 507),
)
async def resume_download(job_id: str, downloads: DownloadsDep) -> DownloadJobInfo:
    """Continue a cancelled or failed job from the bytes already on disk."""
    return await downloads.resume(job_id)


@router.delete("/{job_id}", status_code=204, responses=error_responses(404))
async def delete_download(job_id: str, downloads: DownloadsDep) -> None:
    """Forget a job; an unfinished one is stopped and its partial files removed. A finished
    job's model stays (delete it with DELETE /api/v1/models/{id})."""
    await downloads.delete(job_id)


@router.get("/{job_id}/events", responses=job_events_doc("DownloadJobInfo"))
async def download_events(job_id: str, downloads: DownloadsDep):
    """Live progress of one job as server-sent events."""
    return job_events(downloads, job_id)
