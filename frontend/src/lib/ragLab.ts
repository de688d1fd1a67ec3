import type { Schemas } from "@/lib/api";

export type RetrievalMode = "dense" | "lexical" | "hybrid";
export type EvalConfig = Schemas["EvalConfigIn"];
export type EvalQuestion = Schemas["EvalQuestionIn"];
export type Evaluation = Schemas["Evaluation"];

export const RETRIEVAL_MODES: { value: RetrievalMode; label: string }[] = [
  { value: "hybrid", label: "Hybrid (BM25 + dense)" },
  { value: "dense", label: "Dense (embeddings)" },
  { value: "lexical", label: "Lexical (BM25)" },
];

/** The comparison a first run usually wants: each retrieval mode, then structure off. */
export function defaultConfigs(chunkSize = 200, chunkOverlap = 40): EvalConfig[] {
  const base = { chunk_size: chunkSize, chunk_overlap: chunkOverlap, rerank: false, top_k: 5 };
  return [
    { ...base, name: "hybrid", mode: "hybrid", structure: true },
    { ...base, name: "dense", mode: "dense", structure: true },
    { ...base, name: "lexical", mode: "lexical", structure: true },
    { ...base, name: "hybrid, per page", mode: "hybrid", structure: false },
  ];
}

/** Questions from JSONL text (one {question, document, pages?, text?} per line); throws with
 * the line number on bad input. */
export function parseQuestionsJsonl(text: string): EvalQuestion[] {
  const out: EvalQuestion[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch {
      throw new Error(`Line ${i + 1} is not JSON.`);
    }
    const q = item as Partial<EvalQuestion>;
    if (typeof q.question !== "string" || typeof q.document !== "string") {
      throw new Error(`Line ${i + 1} needs "question" and "document".`);
    }
    out.push({ question: q.question, document: q.document, pages: q.pages ?? [], text: q.text ?? null });
  });
  return out;
}

export function questionsToJsonl(questions: EvalQuestion[]): string {
  return questions.map((q) => JSON.stringify({ question: q.question, document: q.document, pages: q.pages ?? [], ...(q.text ? { text: q.text } : {}) })).join("\n");
}

export interface MetricRow {
  name: string;
  hit1: number;
  hit5: number;
  mrr: number;
  ndcg5: number;
  p50: number;
  p95: number;
  buildS: number;
  chunks: number;
}

/** One table row per configuration, in run order; `best` marks the highest hit@1 (ties: MRR). */
export function metricRows(evaluation: Evaluation): { rows: MetricRow[]; best: string | null } {
  const rows = (evaluation.configurations ?? []).map((c) => ({
    name: c.config.name,
    hit1: c.metrics.hit_at_1,
    hit5: c.metrics.hit_at_5,
    mrr: c.metrics.mrr,
    ndcg5: c.metrics.ndcg_at_5,
    p50: c.metrics.latency_p50_ms,
    p95: c.metrics.latency_p95_ms,
    buildS: c.metrics.index_build_s,
    chunks: c.metrics.chunks,
  }));
  let best: MetricRow | null = null;
  for (const r of rows) if (!best || r.hit1 > best.hit1 || (r.hit1 === best.hit1 && r.mrr > best.mrr)) best = r;
  return { rows, best: best?.name ?? null };
}

export const percent = (v: number) => `${Math.round(v * 100)}%`;
