import { upload, type Schemas } from "@/lib/api";
import { toApiError } from "@/lib/errors";
import { toRequestParams, type SamplingParams } from "@/lib/params";
import { eventJson, streamEvents } from "@/lib/stream";

export type Citation = Schemas["Citation"];
export type IngestionJob = Schemas["IngestionJob"];
export type AnswerResponse = Schemas["AnswerResponse"];
export type UploadItem = Schemas["UploadItem"];

/** Payload of the answer stream's first event (backend SourcesEvent; not in the OpenAPI document). */
interface SourcesEvent {
  citations: Citation[];
  sources_dropped: number;
}

/** Uploads one file (its own request, so each file gets its own progress) through the API client. */
export async function uploadFile(collection: string, file: File, tags: string): Promise<UploadItem> {
  const data = await upload("/api/v1/rag/documents", { collection, files: file, tags: tags.trim() || undefined });
  return data.items[0];
}

/** Follows an ingestion job's SSE `progress` events until it succeeds or fails. */
export async function followJob(jobId: string, onProgress: (job: IngestionJob) => void, signal?: AbortSignal) {
  let last: IngestionJob | null = null;
  for await (const ev of streamEvents(`/api/v1/rag/jobs/${encodeURIComponent(jobId)}/events`, { signal })) {
    if (ev.event !== "progress") continue;
    last = eventJson<IngestionJob>(ev);
    onProgress(last);
    if (last.status === "succeeded" || last.status === "failed") break;
  }
  return last;
}

/** 0-100: parsing counts for the first 30%, embedding for the rest. */
export function jobPercent(job: IngestionJob): number {
  if (job.status === "succeeded") return 100;
  const parse = job.pages_total ? job.pages_parsed / job.pages_total : 0;
  const embed = job.chunks_total ? job.chunks_embedded / job.chunks_total : 0;
  return Math.round(100 * (0.3 * parse + 0.7 * embed));
}

export interface AskOptions {
  collection: string;
  question: string;
  model: string;
  topK: number;
  mmr: boolean;
  /** dense | lexical | hybrid; undefined: the knowledge base's default. */
  mode?: Schemas["AnswerRequest"]["mode"];
  params: SamplingParams;
}

/** Streams POST /api/v1/rag/answer: `sources`, `token`..., `done` | `error`. */
export async function streamAnswer(
  opts: AskOptions,
  on: { sources: (c: Citation[], dropped: number) => void; text: (t: string) => void },
  signal?: AbortSignal,
): Promise<AnswerResponse> {
  const { top_k: samplingTopK, ...sampling } = toRequestParams(opts.params);
  const body: Schemas["AnswerRequest"] = {
    collection: opts.collection,
    question: opts.question,
    model: opts.model || undefined,
    top_k: opts.topK,
    mmr: opts.mmr,
    mode: opts.mode,
    sampling_top_k: samplingTopK,
    ...sampling,
    stream: true,
  };
  let text = "";
  for await (const ev of streamEvents("/api/v1/rag/answer", { body, signal })) {
    if (ev.event === "sources") {
      const s = eventJson<SourcesEvent>(ev);
      on.sources(s.citations, s.sources_dropped);
    } else if (ev.event === "token") {
      text += eventJson<{ text: string }>(ev).text;
      on.text(text);
    } else if (ev.event === "done") {
      return eventJson<AnswerResponse>(ev);
    } else if (ev.event === "error") {
      throw toApiError(eventJson(ev));
    }
  }
  throw toApiError("The answer stream ended early.");
}

/** "p.5", or "p.5-6" for a chunk that runs over a page break; "" for unpaged text. */
export function pageSpan(page: number | null | undefined, pageEnd?: number | null): string {
  if (page == null || page <= 0) return "";
  return pageEnd != null && pageEnd > page ? `p.${page}-${pageEnd}` : `p.${page}`;
}

/** "page 2", or "pages 5-6" for a chunk that runs over a page break. */
export function pageWords(page: number, pageEnd?: number | null): string {
  return pageEnd != null && pageEnd > page ? `pages ${page}-${pageEnd}` : `page ${page}`;
}

/** The figures that read on their own, for a retrieved chunk: what place it took, how close
 * its embedding is (cosine, 1 = identical) and its BM25 score. The fused (RRF) score of hybrid
 * retrieval is left out: about 1/(60+rank), so 0.03 is a top hit that reads as "no match". */
export interface ChunkFigures {
  rank?: number | null;
  similarity?: number | null;
  bm25?: number | null;
}

export function chunkFigures(c: ChunkFigures): string {
  const parts: string[] = [];
  if (c.rank) parts.push(`#${c.rank}`);
  if (c.similarity != null) parts.push(`cosine ${c.similarity.toFixed(2)}`);
  if (c.bm25 != null) parts.push(`BM25 ${c.bm25.toFixed(1)}`);
  return parts.join(" · ");
}

/** Hover text saying what each figure is, with the raw ranking score kept for reference. */
export function chunkFiguresTitle(c: ChunkFigures & { score?: number | null; dense_rank?: number | null; lexical_rank?: number | null }): string {
  const lines = [`Rank ${c.rank ?? "?"} in this answer (after fusion and reranking).`];
  if (c.similarity != null) lines.push(`Cosine similarity of the chunk to the question: ${c.similarity.toFixed(3)} (1 = identical).`);
  if (c.bm25 != null) lines.push(`BM25 (word match) score: ${c.bm25.toFixed(2)}.`);
  if (c.dense_rank != null || c.lexical_rank != null) {
    lines.push(`Place in the embedding list: ${c.dense_rank ?? "–"}; in the BM25 list: ${c.lexical_rank ?? "–"}.`);
  }
  if (c.score != null) lines.push(`Ranking score: ${c.score.toFixed(4)}.`);
  return lines.join("\n");
}
