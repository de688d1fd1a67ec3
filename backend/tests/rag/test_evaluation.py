"""RAG lab: an evaluation job with two configurations on a small uploaded question set gives
the metrics a hand computation gives; the metric formulas themselves on fixed rankings."""

from __future__ import annotations

import csv
import io
import json
import math
import time
import uuid

import pytest

from app.services.rag.evaluation import question_metrics
from tests.rag.client import create_collection, ingest
from tests.rag.conftest import RagApp

FACTS = [
    ("Part 1", "The north gate opens at six in the morning."),
    ("Part 2", "Parking costs four euros per hour near the museum."),
    ("Part 3", "The library lends at most twelve books per card."),
    ("Part 4", "Error K-2291 means the ticket machine ran out of paper."),
]


def _doc() -> bytes:
    return "\n".join(f"## {title}\n\n{text}\n" for title, text in FACTS).encode()


def test_metric_formulas() -> None:
    m = question_metrics([False, True, False, True, False])
    assert m["hit1"] == 0 and m["hit5"] == 1 and m["rr"] == 0.5
    ideal = 1 + 1 / math.log2(3)
    assert m["ndcg5"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert question_metrics([False] * 5) == {"hit1": 0, "hit5": 0, "rr": 0, "ndcg5": 0}
    assert question_metrics([True, False])["ndcg5"] == 1


def test_evaluation_job_matches_hand_computation(rag_embedded: RagApp) -> None:
    name = f"lab-{uuid.uuid4().hex[:8]}"
    with rag_embedded.client() as client:
        create_collection(client, name, chunk_size=32, chunk_overlap=0)
        ingest(client, name, [("city.md", _doc(), "text/markdown")])
        lines = [
            {
                "question": "When does the north gate open?",
                "document": "city.md",
                "text": "north gate opens",
            },
            {"question": "What does error K-2291 mean?", "document": "city.md", "text": "K-2291"},
            {
                "question": "How many books can I borrow?",
                "document": "city.md",
                "text": "twelve books",
            },
        ]
        jsonl = "\n".join(json.dumps(line) for line in lines).encode()
        parsed = client.post(
            "/api/v1/rag/evaluations/questions/upload",
            files={"file": ("set.jsonl", jsonl, "application/jsonl")},
        )
        assert parsed.status_code == 200, parsed.text
        questions = parsed.json()["questions"]
        assert [q["question"] for q in questions] == [line["question"] for line in lines]
        bad = client.post(
            "/api/v1/rag/evaluations/questions/upload",
            files={"file": ("set.jsonl", b"{not json", "application/jsonl")},
        )
        assert bad.status_code == 400 and "error" in bad.json()

        created = client.post(
            "/api/v1/rag/evaluations",
            json={
                "collection": name,
                "questions": questions,
                "configurations": [
                    {"name": "dense-32", "chunk_size": 32, "chunk_overlap": 0, "mode": "dense"},
                    {"name": "lexical-64", "chunk_size": 64, "chunk_overlap": 8, "mode": "lexical"},
                ],
            },
        )
        assert created.status_code == 202, created.text
        evaluation_id = created.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            state = client.get(f"/api/v1/rag/evaluations/{evaluation_id}").json()
            if state["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert state["status"] == "succeeded", state
        assert state["progress"] == 1.0
        assert [c["config"]["name"] for c in state["configurations"]] == ["dense-32", "lexical-64"]

        # Hand computation from the drill-down: a chunk is relevant when it holds the
        # expected text; hit@1, hit@5 and MRR from the rank of the first relevant chunk.
        for summary in state["configurations"]:
            config = summary["config"]["name"]
            ranks = []
            for q, line in zip(state["questions"], lines, strict=True):
                chunks = q["results"][config]["chunks"]
                flags = [line["text"].lower() in c["text"].lower() for c in chunks]
                assert flags == [c["relevant"] for c in chunks]
                ranks.append(flags.index(True) + 1 if True in flags else None)
            n = len(ranks)
            metrics = summary["metrics"]
            assert metrics["hit_at_1"] == pytest.approx(sum(r == 1 for r in ranks) / n)
            assert metrics["hit_at_5"] == pytest.approx(
                sum(r is not None and r <= 5 for r in ranks) / n
            )
            assert metrics["mrr"] == pytest.approx(sum(1 / r for r in ranks if r) / n)
            assert metrics["questions"] == 3 and metrics["chunks"] > 0
            assert metrics["latency_p95_ms"] >= metrics["latency_p50_ms"] > 0
        # The lexical configuration finds the error code first.
        assert state["questions"][1]["results"]["lexical-64"]["hit1"] == 1

        exported = client.get(
            f"/api/v1/rag/evaluations/{evaluation_id}/export", params={"format": "csv"}
        )
        assert exported.status_code == 200 and exported.headers["content-type"].startswith(
            "text/csv"
        )
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 6 and {r["configuration"] for r in rows} == {"dense-32", "lexical-64"}
        as_json = client.get(f"/api/v1/rag/evaluations/{evaluation_id}/export").json()
        assert as_json["id"] == evaluation_id
        # The temporary indexes are gone.
        scratch = rag_embedded.data_dir / "rag" / "eval-tmp" / evaluation_id
        assert not scratch.exists()
        assert client.delete(f"/api/v1/rag/evaluations/{evaluation_id}").status_code == 204
        assert client.get(f"/api/v1/rag/evaluations/{evaluation_id}").status_code == 404
