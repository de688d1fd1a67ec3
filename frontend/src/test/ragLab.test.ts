import { describe, expect, it } from "vitest";

import { chunkFigures, pageSpan } from "@/lib/rag";
import { defaultConfigs, drillChunkText, generationStatus, metricRows, parseQuestionsJsonl, questionsToJsonl, type Evaluation } from "@/lib/ragLab";

describe("RAG lab helpers", () => {
  it("shows a chunk's whole page span, so a page-6 question's ✔ is not shown as p.5", () => {
    expect(drillChunkText({ filename: "guide.pdf", page: 5, page_end: 6, relevant: true })).toBe("✔ guide.pdf p.5-6");
    expect(drillChunkText({ filename: "guide.pdf", page: 5, page_end: 5, relevant: false })).toBe("✗ guide.pdf p.5");
    expect(drillChunkText({ filename: "notes.txt", page: null, relevant: true })).toBe("✔ notes.txt");
    expect(pageSpan(3, null)).toBe("p.3");
    expect(pageSpan(0, 0)).toBe("");
  });

  it("says which model writes the questions and how far it is", () => {
    expect(generationStatus({ model: "smollm2-135m-instruct", done: 2, total: 10 })).toBe("Writing question 3 of 10 with smollm2-135m-instruct…");
    expect(generationStatus({ model: "tiny", done: 4, total: 4 })).toBe("4 questions written by tiny");
  });

  it("shows rank, cosine and BM25 instead of the fused score", () => {
    const c = { filename: "a.pdf", page: 2, page_end: 2, relevant: true, rank: 1, similarity: 0.7134, bm25: 6.234, score: 0.0311 };
    expect(drillChunkText(c)).toBe("✔ a.pdf p.2 (#1 · cosine 0.71 · BM25 6.2)");
    // Lexical runs have no cosine; a chunk BM25 did not return has no BM25.
    expect(chunkFigures({ rank: 3, similarity: null, bm25: 1.26 })).toBe("#3 · BM25 1.3");
    expect(chunkFigures({ rank: 2, similarity: 0.5, bm25: null })).toBe("#2 · cosine 0.50");
  });

  it("parses JSONL questions and round-trips them", () => {
    const text = '{"question":"Q1?","document":"a.pdf","pages":[3]}\n\n{"question":"Q2?","document":"b.md","text":"x"}';
    const qs = parseQuestionsJsonl(text);
    expect(qs).toEqual([
      { question: "Q1?", document: "a.pdf", pages: [3], text: null },
      { question: "Q2?", document: "b.md", pages: [], text: "x" },
    ]);
    expect(parseQuestionsJsonl(questionsToJsonl(qs))).toEqual(qs);
  });

  it("names the bad line", () => {
    expect(() => parseQuestionsJsonl('{"question":"a","document":"d"}\n{oops')).toThrow("Line 2");
    expect(() => parseQuestionsJsonl('{"question":"a"}')).toThrow('needs "question" and "document"');
  });

  it("offers unique default configurations", () => {
    const names = defaultConfigs().map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(defaultConfigs(128, 16)[0]).toMatchObject({ chunk_size: 128, chunk_overlap: 16, mode: "hybrid" });
  });

  it("builds metric rows and picks the best by hit@1 then MRR", () => {
    const m = (hit1: number, mrr: number) => ({
      hit_at_1: hit1, hit_at_5: 1, mrr, ndcg_at_5: 0.5, latency_p50_ms: 2, latency_p95_ms: 3,
      index_build_s: 1, chunks: 10, questions: 4,
    });
    const evaluation = {
      id: "e", collection_id: "c", status: "succeeded", progress: 1, stage: "done", error: null, created_at: 0,
      configurations: [
        { config: { ...defaultConfigs()[0], name: "a" }, metrics: m(0.5, 0.6) },
        { config: { ...defaultConfigs()[0], name: "b" }, metrics: m(0.75, 0.8) },
        { config: { ...defaultConfigs()[0], name: "c" }, metrics: m(0.75, 0.9) },
      ],
      questions: [],
    } as Evaluation;
    const { rows, best } = metricRows(evaluation);
    expect(rows.map((r) => r.name)).toEqual(["a", "b", "c"]);
    expect(best).toBe("c");
  });
});
