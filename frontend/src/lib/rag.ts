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
