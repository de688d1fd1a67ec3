"""``/v1/files``: upload (purpose=batch, JSONL checked line by line), list, retrieve, content,
delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse

from app.core.errors import InvalidRequest, PayloadTooLarge
from app.schemas.batches import FileDeleted, FileList, FileObject
from app.schemas.common import error_responses
from app.services.batches import BatchService

router = APIRouter(prefix="/files", tags=["openai"])


def get_batches(request: Request) -> BatchService:
    return request.app.state.batches


BatchesDep = Annotated[BatchService, Depends(get_batches)]


async def read_capped(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"The file is larger than {limit} bytes (files_max_bytes).", param="file"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "",
    response_model=FileObject,
    responses=error_responses(400, 413),
    operation_id="openai-create_file",
)
async def create_file(
    batches: BatchesDep,
    file: Annotated[UploadFile, File(description="A JSONL file of batch requests.")],
    purpose: Annotated[str, Form(description="Only 'batch'.")],
) -> FileObject:
    """Upload a batch input file; every line is validated before it is stored."""
    if purpose != "batch":
        raise InvalidRequest(f"purpose '{purpose}' is not supported; use 'batch'.", param="purpose")
    data = await read_capped(file, batches.settings.files_max_bytes)
    batches.parse_upload(data)
    return batches.files.create(file.filename or "upload.jsonl", purpose, data)


@router.get("", response_model=FileList, operation_id="openai-list_files")
async def list_files(batches: BatchesDep, purpose: str | None = None) -> FileList:
    """Files, newest first (optionally only one purpose)."""
    return FileList(data=batches.files.all(purpose))


@router.get(
    "/{file_id}",
    response_model=FileObject,
    responses=error_responses(404),
    operation_id="openai-get_file",
)
async def get_file(file_id: str, batches: BatchesDep) -> FileObject:
    return batches.files.get(file_id)


@router.get(
    "/{file_id}/content",
    response_class=FileResponse,
    responses=error_responses(404),
    operation_id="openai-get_file_content",
)
async def get_file_content(file_id: str, batches: BatchesDep) -> FileResponse:
    """The file's bytes (batch results are JSONL, one line per request)."""
    meta = batches.files.get(file_id)
    return FileResponse(
        batches.files.content(file_id), media_type="application/jsonl", filename=meta.filename
    )


@router.delete(
    "/{file_id}",
    response_model=FileDeleted,
    responses=error_responses(404),
    operation_id="openai-delete_file",
)
async def delete_file(file_id: str, batches: BatchesDep) -> FileDeleted:
    batches.files.delete(file_id)
    return FileDeleted(id=file_id)
