"""RAG routes: knowledge bases, document upload and ingestion jobs, query and cited answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request, Response
from sse_starlette import ServerSentEvent

from app.api import serving
from app.api.deps import GenerationDep, RagDep
from app.api.routes.rag_upload import UPLOAD_OPENAPI, parse_upload
from app.api.sse import NativeEvents, event, progress_events, sse_response
from app.core.errors import NotFound
from app.schemas.common import Timings, Usage, described_responses, error_responses
from app.schemas.generation import GenerateResponse, TokenDelta
from app.schemas.rag import (
    AnswerRequest,
    AnswerResponse,
    Collection,
    CollectionCreate,
    CollectionUpdate,
    Document,
    IngestionJob,
    QueryRequest,
    QueryResponse,
    SourcesEvent,
    UploadItem,
    UploadResponse,
)
from app.services.generation import GenerationOutcome, GenerationService, ParamsInput
from app.services.rag import RagService
from app.services.rag.citations import CitationStreamFilter, check_citations
from app.services.rag.pipeline import NOT_FOUND_ANSWER, PreparedAnswer, grounded

router = APIRouter(prefix="/rag", tags=["rag"])


@router.post(
    "/collections",
    response_model=Collection,
    status_code=201,
    responses=error_responses(400, 404, 409),
)
async def create_collection(body: CollectionCreate, rag: RagDep):
    """Create a knowledge base with its embedding model and chunking defaults."""
    return await rag.collections.create(
        body.name,
        body.description,
        body.embedding_model,
        body.chunk_size,
        body.chunk_overlap,
        body.retrieval_mode or rag.settings.rag_retrieval_mode,
    )


@router.get("/collections", response_model=list[Collection])
async def list_collections(rag: RagDep):
    """All knowledge bases."""
    return rag.collections.list()


@router.get(
    "/collections/{collection_id}", response_model=Collection, responses=error_responses(404)
)
async def get_collection(collection_id: str, rag: RagDep):
    """One knowledge base, by id or name."""
    return rag.collections.get(collection_id, param="collection_id")


@router.patch(
    "/collections/{collection_id}", response_model=Collection, responses=error_responses(404)
)
async def update_collection(collection_id: str, body: CollectionUpdate, rag: RagDep):
    """Change a knowledge base's default retrieval mode."""
    return rag.collections.set_mode(collection_id, body.retrieval_mode)


@router.delete("/collections/{collection_id}", status_code=204, responses=error_responses(404, 409))
async def delete_collection(collection_id: str, rag: RagDep):
    """Delete a knowledge base with all its documents, files and vectors."""
    await rag.collections.delete(collection_id, rag.files_dir)
    return Response(status_code=204)


@router.post(
    "/documents",
    response_model=UploadResponse,
    status_code=202,
    openapi_extra=UPLOAD_OPENAPI,
    responses=error_responses(400, 404, 413, 415),
)
async def upload_documents(request: Request, rag: RagDep):
    """Upload files (multipart) into a knowledge base; each new file starts an ingestion job."""
    collection, files, options = await parse_upload(request, rag.settings)
    items = await rag.ingestion.submit(collection, files, options)
    return UploadResponse(items=[UploadItem(**item) for item in items])


@router.get("/documents", response_model=list[Document], responses=error_responses(404))
async def list_documents(rag: RagDep, collection: str | None = None):
    """Documents, optionally of one knowledge base (id or name)."""
    collection_id = rag.collections.get(collection)["id"] if collection else None
    return rag.repo.documents(collection_id)


@router.get("/documents/{document_id}", response_model=Document, responses=error_responses(404))
async def get_document(document_id: str, rag: RagDep):
    """One document."""
    doc = rag.repo.document(document_id)
    if doc is None:
        raise NotFound(f"Document '{document_id}' does not exist.", param="document_id")
    return doc


@router.delete("/documents/{document_id}", status_code=204, responses=error_responses(404))
async def delete_document(document_id: str, rag: RagDep):
    """Delete a document: its file, its rows and all its vectors."""
    await rag.ingestion.delete_document(document_id)
    return Response(status_code=204)


@router.get("/jobs/{job_id}", response_model=IngestionJob, responses=error_responses(404))
async def get_job(job_id: str, rag: RagDep):
    """Progress of an ingestion job."""
    return rag.ingestion.job(job_id)


@router.get(
    "/jobs/{job_id}/events",
    responses=described_responses(
        "SSE `progress` events (IngestionJob) until status is succeeded or failed.",
        404,
    ),
)
async def job_events(job_id: str, rag: RagDep):
    """Follow an ingestion job as server-sent events."""
    rag.ingestion.job(job_id)  # 404 before the stream starts
    jobs = (IngestionJob(**job) async for job in rag.ingestion.follow(job_id))
    return sse_response(progress_events(jobs))


@router.post("/query", response_model=QueryResponse, responses=error_responses(400, 404))
async def query(body: QueryRequest, rag: RagDep):
    """The best chunks for a query (dense, lexical or hybrid; reranked when a reranker is
    configured), best first."""
    return await search(body, rag)


async def search(body: QueryRequest, rag: RagService) -> QueryResponse:
    """The retrieved chunks of a query (also the MCP tool ``rag_search``)."""
    found = await rag.pipeline.retrieve(body.query, body)
    return QueryResponse(chunks=found.chunks, mode=found.mode, reranker=found.reranker)


@router.post(
    "/answer",
    response_model=AnswerResponse,
    responses=described_responses(
        "JSON, or with stream=true SSE: `sources` (SourcesEvent), `token` "
        "({text}) per step, then `done` (AnswerResponse) or `error` (the envelope).",
        400,
        404,
        503,
    ),
)
async def answer(body: AnswerRequest, rag: RagDep, generation: GenerationDep, request: Request):
    """Answer a question from a knowledge base, citing sources as [n]. When no retrieved chunk
    reaches ``MP_RAG_ANSWER_MIN_SIMILARITY`` it says the documents do not contain the answer."""
    if not body.stream:
        return await answer_whole(body, rag, generation, request.is_disconnected)
    prepared = await prepare_answer(body, rag)
    if isinstance(prepared, AnswerResponse):
        return sse_response(_not_found_events(prepared))
    return sse_response(_answer_events(generation, prepared))


async def prepare_answer(body: AnswerRequest, rag: RagService) -> PreparedAnswer | AnswerResponse:
    """The prepared generation of a cited answer; or, when no retrieved chunk is close enough,
    the finished answer that says the documents do not contain it (no model runs)."""
    found = await rag.pipeline.retrieve(body.question, body)
    if not grounded(found.chunks, rag.settings.rag_answer_min_similarity):
        return _not_found(body.model)
    # top_k of this request is the retrieval depth; the sampling one is sampling_top_k.
    params = ParamsInput.from_request(body, top_k=body.sampling_top_k, stop=body.stop)
    return await rag.pipeline.prepare_answer(
        body.collection, body.question, found.chunks, body.model, body.backend, params
    )


async def answer_whole(
    body: AnswerRequest,
    rag: RagService,
    generation: GenerationService,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AnswerResponse:
    """A cited answer, not streamed (also the MCP tool ``rag_answer``)."""
    prepared = await prepare_answer(body, rag)
    if isinstance(prepared, AnswerResponse):
        return prepared
    answer = await serving.complete(generation, prepared.job, is_disconnected, parse=False)
    return _response(prepared, answer.outcome)


def _not_found(model: str | None) -> AnswerResponse:
    return AnswerResponse(
        answer=GenerateResponse(
            id=uuid.uuid4().hex,
            model=model or "",
            text=NOT_FOUND_ANSWER,
            finish_reason="stop",
            usage=Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0),
            timings=Timings(
                ttft_ms=None,
                tokens_per_second=None,
                total_ms=0.0,
                backend="none",
                backend_reason="no retrieved chunk reached the similarity "
                "threshold, so no model ran",
            ),
        ),
        citations=[],
        sources_dropped=0,
        grounded=False,
    )


async def _not_found_events(response: AnswerResponse) -> AsyncIterator[ServerSentEvent]:
    yield event(SourcesEvent(citations=[], sources_dropped=0), "sources")
    yield event(TokenDelta(text=response.answer.text), "token")
    yield event(response, "done")


def _response(prepared: PreparedAnswer, outcome: GenerationOutcome) -> AnswerResponse:
    job = outcome.job
    text, cited, invalid = check_citations(outcome.text, {c.n for c in prepared.citations})
    return AnswerResponse(
        answer=GenerateResponse(
            id=job.request_id,
            model=job.model.model_id,
            text=text,
            finish_reason=outcome.finish_reason or "cancelled",
            usage=outcome.usage(),
            timings=outcome.timings(),
        ),
        citations=prepared.citations,
        sources_dropped=prepared.dropped,
        cited=cited,
        invalid_citations=invalid,
    )


async def _answer_events(
    generation: GenerationDep, prepared: PreparedAnswer
) -> AsyncIterator[ServerSentEvent]:
    yield event(
        SourcesEvent(citations=prepared.citations, sources_dropped=prepared.dropped), "sources"
    )
    given = {c.n for c in prepared.citations}
    codec = NativeEvents(lambda outcome: _response(prepared, outcome), CitationStreamFilter(given))
    async for item in serving.stream(generation, prepared.job, codec):
        yield item
