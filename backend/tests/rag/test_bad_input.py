"""Bad uploads get 4xx with the error envelope and leave nothing stored: no rows, no vectors,
no file."""

from __future__ import annotations

import uuid

import httpx
import pymupdf
import pytest

from tests.rag.client import chroma_count, create_collection, upload
from tests.rag.conftest import MAX_FILE_BYTES, RagApp
from tests.rag.corpus import make_pdf


def _encrypted_pdf() -> bytes:
    doc = pymupdf.open(stream=make_pdf(["A secret fact."]), filetype="pdf")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user")
    doc.close()
    return data


def _oversize_text() -> bytes:
    return ("A line of perfectly good text.\n" * (MAX_FILE_BYTES // 20)).encode()


BAD_FILES = {
    "not-a-pdf": (("report.pdf", b"Just some text pretending.", "application/pdf"), 415),
    "encrypted-pdf": (("locked.pdf", _encrypted_pdf(), "application/pdf"), 415),
    "corrupt-pdf": (("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "application/pdf"), 415),
    "empty-file": (("empty.txt", b"", "text/plain"), 400),
    "over-size": (("big.txt", _oversize_text(), "text/plain"), 413),
    "path-traversal": (("../escape.txt", b"harmless text", "text/plain"), 400),
    "binary-as-txt": (("data.txt", bytes(range(256)) * 64, "text/plain"), 415),
    "nul-bytes-as-txt": (("nul.txt", b"text\x00\x00\x00more\x00" * 100, "text/plain"), 415),
}


def _assert_envelope(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and error["type"]
    assert "Traceback" not in response.text


def _assert_nothing_stored(app: RagApp, client: httpx.Client, collection: dict) -> None:
    docs = client.get("/api/v1/rag/documents", params={"collection": collection["id"]}).json()
    assert docs == []
    assert chroma_count(app.chroma_url, app.data_dir, f"kb_{collection['id']}") == 0
    files_dir = app.data_dir / "rag" / "files"
    assert not files_dir.exists() or list(files_dir.iterdir()) == []


@pytest.fixture(scope="module")
def clean_app(rag_remote: RagApp) -> RagApp:
    """The Chroma-server app (its vectors can be counted while it runs), with no documents."""
    with rag_remote.client() as client:
        for doc in client.get("/api/v1/rag/documents").json():
            assert client.delete(f"/api/v1/rag/documents/{doc['id']}").status_code == 204
    return rag_remote


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_refused_and_nothing_stored(clean_app: RagApp, case: str) -> None:
    file, status = BAD_FILES[case]
    with clean_app.client() as client:
        collection = create_collection(client, f"bad-{uuid.uuid4().hex[:8]}")
        # A good file rides along: the whole upload is refused, so it is not stored either.
        good = ("good.txt", b"A perfectly fine document about kites.", "text/plain")
        response = upload(client, collection["id"], [good, file])
        _assert_envelope(response, status)
        _assert_nothing_stored(clean_app, client, collection)


def test_huge_upload_refused_from_content_length(clean_app: RagApp) -> None:
    with clean_app.client() as client:
        collection = create_collection(client, f"huge-{uuid.uuid4().hex[:8]}")
        body = b"x" * (MAX_FILE_BYTES * 4 + (2 << 20))
        response = upload(client, collection["id"], [("huge.txt", body, "text/plain")])
        _assert_envelope(response, 413)
        _assert_nothing_stored(clean_app, client, collection)


def test_unknown_collection(clean_app: RagApp) -> None:
    with clean_app.client() as client:
        response = upload(client, "no-such-kb", [("a.txt", b"hello there", "text/plain")])
        _assert_envelope(response, 404)
        assert response.json()["error"]["param"] == "collection"
        assert client.get("/api/v1/rag/documents").json() == []
        files_dir = clean_app.data_dir / "rag" / "files"
        assert not files_dir.exists() or list(files_dir.iterdir()) == []
        _assert_envelope(
            client.post("/api/v1/rag/query", json={"collection": "no-such-kb", "query": "x"}), 404
        )
        _assert_envelope(client.get("/api/v1/rag/documents/nope"), 404)
        _assert_envelope(client.get("/api/v1/rag/jobs/nope"), 404)


def test_bad_form_fields(clean_app: RagApp) -> None:
    with clean_app.client() as client:
        collection = create_collection(client, f"form-{uuid.uuid4().hex[:8]}")
        good = [("good.txt", b"Some text.", "text/plain")]
        for fields in (
            {"metadata": "[1, 2]"},
            {"metadata": "{bad"},
            {"tags": "../x"},
            {"chunk_size": "abc"},
            {"chunk_size": "64", "chunk_overlap": "64"},
            {"chunk_size": "1000"},
        ):
            _assert_envelope(upload(client, collection["id"], good, **fields), 400)
        _assert_envelope(client.post("/api/v1/rag/documents", json={"x": 1}), 400)
        _assert_nothing_stored(clean_app, client, collection)
