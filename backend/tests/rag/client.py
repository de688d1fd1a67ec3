"""Small HTTP helpers for the RAG tests: uploads, waiting on ingestion over SSE, counting
vectors in Chroma."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event name, JSON data) pairs of a server-sent-event stream."""
    name, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield name, json.loads("\n".join(data))
            name, data = "message", []


def create_collection(client: httpx.Client, name: str, **extra) -> dict:
    response = client.post("/api/v1/rag/collections", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def upload(
    client: httpx.Client, collection: str, files: list[tuple[str, bytes, str]], **fields
) -> httpx.Response:
    return client.post(
        "/api/v1/rag/documents",
        data={"collection": collection, **fields},
        files=[("files", f) for f in files],
    )


def follow_job(client: httpx.Client, job_id: str) -> list[dict]:
    """Every progress event of a job until it ends (the last one is the final state)."""
    events = []
    with client.stream("GET", f"/api/v1/rag/jobs/{job_id}/events", timeout=300) as response:
        assert response.status_code == 200
        for name, data in sse_events(response):
            assert name == "progress"
            events.append(data)
            if data["status"] in ("succeeded", "failed"):
                break
    return events


def ingest_items(
    client: httpx.Client, collection: str, files: list[tuple[str, bytes, str]], **fields
) -> dict[str, dict]:
    """Upload, wait for every job, and return filename -> upload item (document and job id)."""
    response = upload(client, collection, files, **fields)
    assert response.status_code == 202, response.text
    items = {}
    for item in response.json()["items"]:
        final = follow_job(client, item["job_id"])[-1]
        assert final["status"] == "succeeded", final
        items[item["filename"]] = item
    return items


def ingest(
    client: httpx.Client, collection: str, files: list[tuple[str, bytes, str]], **fields
) -> dict[str, str]:
    """Upload, wait for every job, and return filename -> document id."""
    items = ingest_items(client, collection, files, **fields)
    return {name: item["document_id"] for name, item in items.items()}


def chroma_count(
    chroma_url: str | None, data_dir: Path, vector_name: str, document_id: str | None = None
) -> int:
    """Vectors in a collection (of one document) counted by Chroma itself."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if chroma_url:
        host, port = chroma_url.removeprefix("http://").split(":")
        client = chromadb.HttpClient(host=host, port=int(port), settings=settings)
    else:
        client = chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)
    collection = client.get_collection(vector_name, embedding_function=None)
    if document_id is None:
        return collection.count()
    return len(collection.get(where={"document_id": document_id}, include=[])["ids"])
