"""RAG benchmark: ``python -m scripts.bench.rag`` from the repository root.

1. Parse + chunk a generated 200-page PDF (pages/s), with the MiniLM tokenizer's offsets.
2. Embed its chunks through our embedder (``Embedder.embed``) and through sentence-transformers
   directly (``SentenceTransformer.encode`` on the same model object, same batch size),
   interleaved, median of repeats: chunks/s each and their ratio (target >= 0.9).
3. Full ingestion path (embed + Chroma upsert) chunks/s, for reference.
4. Query latency p50/p95 (top-5, cosine, embedded Chroma through our ``ChromaVectorStore``) at
   10k and 100k stored vectors. The scale part stores random unit vectors (embedding 100k real
   chunks would take most of an hour here), so it measures the vector search, not retrieval
   quality; a query with a real MiniLM query embedding is timed at the end too.

The machine is shared: CPU pressure (/proc/pressure/cpu) is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench import REPO_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

WORDS = ["river", "harbour", "mountain", "engine", "archive", "festival", "orchard", "tunnel", "observatory", "market", "bridge", "library", "garden", "factory", "village", "museum", "station", "island", "forest", "council"]


def make_pdf(pages: int) -> bytes:
    """A PDF whose pages hold ~350 words of varied sentences each."""
    import pymupdf

    rng = np.random.default_rng(0)
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        sentences = []
        for s in range(24):
            picks = rng.choice(WORDS, size=6)
            sentences.append(f"On page {number} the {picks[0]} near the {picks[1]} was "
                             f"visited by {int(rng.integers(2, 900))} people who noted the "
                             f"{picks[2]} and the {picks[3]}.")
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(50, 50, 545, 800), " ".join(sentences), fontsize=9)
    data = doc.tobytes()
    doc.close()
    return data


def cpu_pressure() -> str:
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--scales", default="10000,100000",
                        help="Comma-separated vector counts for the query latency part.")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results" / "rag.json")
    args = parser.parse_args()

    from app.core.config import Settings
    from app.services.rag.chunking import chunk_sections
    from app.services.rag.embedder import Embedder
    from app.services.rag.loaders import parse
    from app.services.rag.vector_store import ChromaVectorStore

    settings = Settings()
    results: dict[str, object] = {"cpu_pressure_before": cpu_pressure(),
                                  "threads": os.environ.get("OMP_NUM_THREADS", "default")}
    embedder = Embedder(settings.rag_embedding_model, settings)
    model = embedder.model  # load once, outside the timings
    results["embedding_dtype"] = str(next(model.parameters()).dtype)

    # 1. parse + chunk
    pdf = make_pdf(args.pages)
    started = time.perf_counter()
    parsed = parse("bench.pdf", pdf, max_pages=settings.rag_max_pdf_pages)
    chunks = chunk_sections(parsed.sections, settings.rag_chunk_size, settings.rag_chunk_overlap,
                            embedder.offsets_fn)
    parse_s = time.perf_counter() - started
    texts = [c.text for c in chunks]
    results["parse_chunk"] = {"pages": parsed.pages, "chunks": len(chunks), "seconds": parse_s,
                              "pages_per_s": parsed.pages / parse_s}
    print(f"parse+chunk: {parsed.pages} pages -> {len(chunks)} chunks in {parse_s:.2f} s "
          f"({parsed.pages / parse_s:.0f} pages/s)")

    # 2. embedding: ours vs sentence-transformers directly, interleaved
    batch = settings.rag_embedding_batch_size
    ours, direct = [], []
    embedder.embed(texts[:batch])  # warm-up
    for _ in range(args.repeats):
        t = time.perf_counter()
        model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True,
                     show_progress_bar=False)
        direct.append(len(texts) / (time.perf_counter() - t))
        t = time.perf_counter()
        embedder.embed(texts, batch_size=batch)
        ours.append(len(texts) / (time.perf_counter() - t))
    ratio = statistics.median(ours) / statistics.median(direct)
    results["embedding"] = {"chunks": len(texts), "batch_size": batch,
                            "ours_chunks_per_s": statistics.median(ours),
                            "direct_chunks_per_s": statistics.median(direct),
                            "ratio": ratio, "runs_ours": ours, "runs_direct": direct}
    print(f"embedding: ours {statistics.median(ours):.1f} chunks/s, sentence-transformers "
          f"{statistics.median(direct):.1f} chunks/s, ratio {ratio:.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        store = ChromaVectorStore(path=Path(tmp) / "chroma")

        # 3. full ingestion path: embed + upsert in batches, as the ingestion job does
        store.create_collection("kb_ingest")
        t = time.perf_counter()
        for start in range(0, len(texts), batch):
            part = texts[start:start + batch]
            vectors = embedder.embed(part)
            store.add("kb_ingest", [f"c{start + i}" for i in range(len(part))], vectors, part,
                      [{"document_id": "bench", "position": start + i, "page": 1}
                       for i in range(len(part))])
        ingest_s = time.perf_counter() - t
        results["ingest_embed_store"] = {"chunks_per_s": len(texts) / ingest_s,
                                         "seconds": ingest_s}
        print(f"embed+store: {len(texts) / ingest_s:.1f} chunks/s")

        # 4. query latency at scale (random unit vectors)
        rng = np.random.default_rng(1)
        dim = embedder.dimension
        name, stored = "kb_scale", 0
        store.create_collection(name)
        scale_results = {}
        for target in [int(s) for s in args.scales.split(",")]:
            t = time.perf_counter()
            while stored < target:
                n = min(5000, target - stored)
                vectors = rng.standard_normal((n, dim)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                store.add(name, [f"v{stored + i}" for i in range(n)], vectors,
                          [f"chunk {stored + i}" for i in range(n)],
                          [{"document_id": f"d{(stored + i) % 50}", "page": 1,
                            "position": stored + i} for i in range(n)])
                stored += n
            add_s = time.perf_counter() - t
            queries = rng.standard_normal((args.queries + 20, dim)).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            latencies = []
            for i, q in enumerate(queries):
                t = time.perf_counter()
                store.query(name, q, 5)
                if i >= 20:  # first queries warm the index
                    latencies.append((time.perf_counter() - t) * 1000)
            filtered = []
            for q in queries[:100]:
                t = time.perf_counter()
                store.query(name, q, 5, {"document_id": {"$in": ["d1", "d2"]}})
                filtered.append((time.perf_counter() - t) * 1000)
            scale_results[str(target)] = {
                "add_seconds": add_s, "p50_ms": percentile(latencies, 50),
                "p95_ms": percentile(latencies, 95),
                "filtered_p50_ms": percentile(filtered, 50),
                "filtered_p95_ms": percentile(filtered, 95),
            }
            print(f"query @ {target}: p50 {percentile(latencies, 50):.2f} ms, p95 "
                  f"{percentile(latencies, 95):.2f} ms (filtered to 2 docs: p50 "
                  f"{percentile(filtered, 50):.2f}, p95 {percentile(filtered, 95):.2f}); "
                  f"adds took {add_s:.1f} s")
        results["query"] = scale_results

        latencies = []
        for i in range(60):
            t = time.perf_counter()
            store.query(name, embedder.embed([f"Which {WORDS[i % len(WORDS)]} was visited?"])[0],
                        5)
            latencies.append((time.perf_counter() - t) * 1000)
        results["query_with_embedding"] = {"vectors": stored,
                                           "p50_ms": percentile(latencies[10:], 50),
                                           "p95_ms": percentile(latencies[10:], 95)}
        print(f"embed query + search @ {stored}: p50 {percentile(latencies[10:], 50):.2f} ms, "
              f"p95 {percentile(latencies[10:], 95):.2f} ms")

    results["cpu_pressure_after"] = cpu_pressure()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"cpu pressure before: {results['cpu_pressure_before']}")
    print(f"cpu pressure after:  {results['cpu_pressure_after']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
