import { describe, expect, it } from "vitest";

import { defaultConfigs, metricRows, parseQuestionsJsonl, questionsToJsonl, type Evaluation } from "@/lib/ragLab";

describe("RAG lab helpers", () => {
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
