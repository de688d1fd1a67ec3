"""Retrieval quality on the bundled third-party PDFs (see SOURCES.md) with the questions in
``questions.jsonl`` (each labelled with the PDF pages holding its answer, split dev/heldout).

Runs the RAG lab's engine (``app.services.rag.evaluation.evaluate``) on four configurations,
200-token chunks with 40 overlap and MiniLM: dense, lexical and hybrid over one section per
page (the chunking before structure-aware sections), and hybrid over structure-aware sections.
Prints hit@1 / hit@5 / MRR per split and writes ``bench-results/rag_eval.json``.

    .venv/bin/python -m scripts.bench.rag_eval [--split heldout|dev|all] [--rerank]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from scripts.bench import REPO_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
CONFIGS = [
    ("dense", "dense", False),
    ("lexical", "lexical", False),
    ("hybrid", "hybrid", False),
    ("hybrid+structure", "hybrid", True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunk-size", type=int, default=200)
    parser.add_argument("--chunk-overlap", type=int, default=40)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results" / "rag_eval.json")
    args = parser.parse_args()

    from app.core.config import Settings
    from app.services.rag.embedder import EmbedderPool
    from app.services.rag.evaluation import (
        EvalConfig,
        EvalQuestion,
        SourceDocument,
        evaluate,
    )

    settings = Settings()
    pool = EmbedderPool(settings)
    rows = [json.loads(line) for line in (HERE / "questions.jsonl").read_text().splitlines()
            if line.strip()]
    questions = [EvalQuestion(r["question"], r["document"], r["pages"]) for r in rows]
    docs = [SourceDocument(p.name, p.name, p.read_bytes())
            for p in sorted((HERE / "pdfs").glob("*.pdf"))]
    configs = [EvalConfig(name, args.chunk_size, args.chunk_overlap, structure, mode)
               for name, mode, structure in CONFIGS]
    with tempfile.TemporaryDirectory() as scratch:
        result = evaluate(docs, questions, configs, pool.get, Path(scratch),
                          settings.rag_max_pdf_pages)

    table: dict[str, dict[str, dict[str, float]]] = {}
    for split in ("heldout", "dev", "all"):
        picked = [i for i, r in enumerate(rows) if split == "all" or r["split"] == split]
        table[split] = {}
        for summary in result["configurations"]:
            name = summary["config"]["name"]
            per = [result["questions"][i]["results"][name] for i in picked]
            n = len(per)
            table[split][name] = {
                "questions": n,
                "hit_at_1": sum(p["hit1"] for p in per) / n,
                "hit_at_5": sum(p["hit5"] for p in per) / n,
                "mrr": sum(p["rr"] for p in per) / n,
                "ndcg_at_5": sum(p["ndcg5"] for p in per) / n,
                "chunks": summary["metrics"]["chunks"],
                "index_build_s": summary["metrics"]["index_build_s"],
                "latency_p50_ms": summary["metrics"]["latency_p50_ms"],
            }
        print(f"\n{split} ({len(picked)} questions)")
        print("| configuration | hit@1 | hit@5 | MRR | chunks |")
        print("| --- | --- | --- | --- | --- |")
        for name, m in table[split].items():
            print(f"| {name} | {m['hit_at_1']:.0%} | {m['hit_at_5']:.0%} | {m['mrr']:.3f} "
                  f"| {m['chunks']} |")
    misses = [
        {"question": q["question"], "document": q["document"], "pages": q["pages"],
         "top": [(c["filename"], c["page"], c["page_end"]) for c in
                 q["results"]["hybrid+structure"]["chunks"][:3]]}
        for q in result["questions"] if not q["results"]["hybrid+structure"]["hit1"]
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"table": table, "hybrid_structure_misses": misses,
                                    "configurations": result["configurations"]}, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
