import type { Schemas } from "@/lib/api";
import { toApiError } from "@/lib/errors";
import { chunkFigures, pageSpan } from "@/lib/rag";
import { eventJson, streamEvents } from "@/lib/stream";

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

/** A retrieved chunk in the drill-down (the evaluation's per-question results). */
export interface DrillChunk {
  filename: string;
  page: number | null;
  page_end?: number | null;
  relevant: boolean;
  rank?: number | null;
  similarity?: number | null;
  bm25?: number | null;
  score?: number;
}

/** "✔ guide.pdf p.5-6 (#1 · cosine 0.71 · BM25 6.2)": relevance, where the chunk is (its whole
 * page span: a question labelled page 6 matches a chunk running from page 5 onto 6) and the
 * figures that read on their own. */
export function drillChunkText(c: DrillChunk): string {
  const where = [c.filename, pageSpan(c.page, c.page_end)].filter(Boolean).join(" ");
  const figures = chunkFigures(c);
  return `${c.relevant ? "✔" : "✗"} ${where}${figures ? ` (${figures})` : ""}`;
}

export type QuestionSet = Schemas["QuestionSet"];
/** Payload of a question-generation `progress` event (backend QuestionProgressEvent; SSE
 * payloads are not in the OpenAPI document). */
export interface QuestionProgress {
  model: string;
  done: number;
  total: number;
}

/** Streams POST /api/v1/rag/evaluations/questions/generate: a `progress` event (the model and
 * questions done of total) before each question, then `done` with the questions. */
export async function generateQuestions(
  body: Omit<Schemas["GenerateQuestions"], "stream">,
  onProgress: (p: QuestionProgress) => void,
  signal?: AbortSignal,
): Promise<QuestionSet> {
  for await (const ev of streamEvents("/api/v1/rag/evaluations/questions/generate", { body: { ...body, stream: true }, signal })) {
    if (ev.event === "progress") onProgress(eventJson<QuestionProgress>(ev));
    else if (ev.event === "done") return eventJson<QuestionSet>(ev);
    else if (ev.event === "error") throw toApiError(eventJson(ev));
  }
  throw toApiError("The question stream ended early.");
}

/** "Writing question 3 of 10 with smollm2-135m-instruct…" */
export function generationStatus(p: QuestionProgress): string {
  return p.done < p.total ? `Writing question ${p.done + 1} of ${p.total} with ${p.model}…` : `${p.total} questions written by ${p.model}`;
}
