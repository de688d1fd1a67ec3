"""Hybrid retrieval over HTTP: an exact identifier that dense search misses, the BM25 index
after a delete and after a restart (also rebuilt from the vectors when its folder is gone, as
for knowledge bases made before lexical indexes), modes per query and per knowledge base."""

from __future__ import annotations

import shutil
import uuid

from tests.rag.client import create_collection, ingest
from tests.rag.conftest import RagApp

CODES = ["E-4471", "E-4417", "E-7441", "E-1474", "E-4741", "E-7144", "E-1447", "E-4174"]
CAUSES = [
    "the spool directory is full",
    "the printer lid is open",
    "the toner is low",
    "a sheet is jammed in the tray",
    "the network cable is unplugged",
    "the paper size does not match",
    "the fuser is too hot",
    "the firmware is out of date",
]
QUESTION = "What does error E-7144 mean?"  # MiniLM ranks E-7441's section first


def _manual() -> bytes:
    parts = ["# Printer messages\n"]
    for i, (code, cause) in enumerate(zip(CODES, CAUSES, strict=True)):
        parts.append(
            f"## Part {i + 1}\n\nThe printer shows error {code} when {cause}. Check "
            "the panel and restart the job.\n"
        )
    return "\n".join(parts).encode()


def _query(client, name: str, text: str, **extra) -> dict:
    response = client.post(
        "/api/v1/rag/query", json={"collection": name, "query": text, "top_k": 3, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_hybrid_finds_an_identifier_dense_misses(rag_embedded: RagApp) -> None:
    name = f"hybrid-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        collection = create_collection(client, name, chunk_size=48, chunk_overlap=0)
        assert collection["retrieval_mode"] == "hybrid"
        ingest(client, name, [("options.md", _manual(), "text/markdown")])

        def top(mode: str | None) -> str:
            body = _query(client, name, QUESTION, **({"mode": mode} if mode else {}))
            assert body["mode"] == (mode or "hybrid")
            return body["chunks"][0]["text"]

        assert "E-7144" not in top("dense")
        assert "E-7144" in top("lexical")
        assert "E-7144" in top(None)  # the knowledge base's default: hybrid
        hit = _query(client, name, QUESTION)["chunks"][0]
        assert hit["heading_path"] == ["Printer messages", "Part 6"]
        assert 0 < hit["similarity"] <= 1

        # The knowledge base's mode is the default of its queries.
        patched = client.patch(f"/api/v1/rag/collections/{name}", json={"retrieval_mode": "dense"})
        assert patched.status_code == 200 and patched.json()["retrieval_mode"] == "dense"
        assert _query(client, name, QUESTION)["mode"] == "dense"
        bad = client.post(
            "/api/v1/rag/query", json={"collection": name, "query": "x", "mode": "fuzzy"}
        )
        assert bad.status_code == 422 or bad.status_code == 400


def test_lexical_index_after_delete_and_restart(rag_embedded: RagApp) -> None:
    name = f"lexical-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        collection = create_collection(client, name, chunk_size=48, chunk_overlap=0)
        ids = ingest(
            client,
            name,
            [
                ("options.md", _manual(), "text/markdown"),
                (
                    "codes.txt",
                    b"Error ZX-4471 means the spool directory is full. Error QB-0093 "
                    b"means the printer lid is open.",
                    "text/plain",
                ),
            ],
        )
        assert (
            _query(client, name, "ZX-4471", mode="lexical")["chunks"][0]["document_id"]
            == ids["codes.txt"]
        )
        assert client.delete(f"/api/v1/rag/documents/{ids['codes.txt']}").status_code == 204
        after_delete = _query(client, name, "ZX-4471 QB-0093", mode="lexical")["chunks"]
        assert all(c["document_id"] != ids["codes.txt"] for c in after_delete)
        before = _query(client, name, "error E-4471 spool directory", mode="lexical")["chunks"]
        assert before

    folder = rag_embedded.data_dir / "rag" / "lexical" / collection["id"]
    shards = sorted(p.name for p in (folder / "docs").iterdir())
    assert shards == [f"{ids['options.md']}.json"]  # the deleted document's shard is gone
    for drop_index in (False, True):
        rag_embedded.server.stop()
        if drop_index:  # as for a knowledge base made before lexical indexes existed
            shutil.rmtree(folder)
        rag_embedded.server.start()
        with rag_embedded.client() as client:
            after = _query(client, name, "error E-4471 spool directory", mode="lexical")
            assert [(c["chunk_id"], c["score"]) for c in after["chunks"]] == [
                (c["chunk_id"], c["score"]) for c in before
            ]
            assert not [
                c
                for c in _query(client, name, "ZX-4471", mode="lexical")["chunks"]
                if c["document_id"] == ids["codes.txt"]
            ]
        assert (folder / "docs" / f"{ids['options.md']}.json").exists()
