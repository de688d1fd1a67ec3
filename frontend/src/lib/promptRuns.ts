import { client, upload, type Schemas } from "@/lib/api";
import { downloadFromApi } from "@/lib/download";
import { toApiError } from "@/lib/errors";
import { toRequestParams, type SamplingParams } from "@/lib/params";

export type PromptRun = Schemas["PromptRun"];
export type PromptRunInfo = Schemas["PromptRunInfo"];
export type RunCell = Schemas["RunCell"];
/** A `progress` event of GET /api/v1/arena/runs/{id}/events (RunEvent on the server). */
export interface RunEvent {
  status: PromptRunInfo["status"];
  progress: PromptRunInfo["progress"];
  cells: RunCell[];
}
export type Thumb = "up" | "down";

export interface RunTarget {
  model: string;
  backend?: string;
}

export const ACTIVE_RUN: PromptRunInfo["status"][] = ["running", "cancelling"];
export const MIN_MODELS = 2;
export const MAX_MODELS = 6;

/** The config every new run sends: name, models (an empty backend means the model's default), params. */
export function runConfig(name: string, targets: RunTarget[], params: SamplingParams) {
  return {
    ...(name.trim() ? { name: name.trim() } : {}),
    models: targets.map((t) => (t.backend && t.backend !== "auto" ? { model: t.model, backend: t.backend } : { model: t.model })),
    params: toRequestParams(params),
  };
}

/** "jsonl" when the text's first non-blank character opens an object, else "csv" (as the server guesses). */
export function sniffFormat(text: string): "jsonl" | "csv" {
  return text.trimStart().startsWith("{") ? "jsonl" : "csv";
}

/** Starts a run from pasted JSONL/CSV text, or from a file (multipart) when one is given. */
export async function startRun(
  config: ReturnType<typeof runConfig>,
  source: { text: string } | { file: File },
): Promise<PromptRun> {
  if ("file" in source) {
    return upload("/api/v1/arena/runs/upload", { file: source.file, config: JSON.stringify(config) });
  }
  const { data, error, response } = await client.POST("/api/v1/arena/runs", {
    body: { ...config, text: source.text, format: sniffFormat(source.text) },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

export async function cancelRun(id: string): Promise<PromptRun> {
  const { data, error, response } = await client.POST("/api/v1/arena/runs/{run_id}/cancel", {
    params: { path: { run_id: id } },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

export async function rerunRun(id: string): Promise<PromptRun> {
  const { data, error, response } = await client.POST("/api/v1/arena/runs/{run_id}/rerun", {
    params: { path: { run_id: id } },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

export async function rateCell(id: string, row: number, model: string, thumb: Thumb | null): Promise<RunCell> {
  const { data, error, response } = await client.PUT("/api/v1/arena/runs/{run_id}/cells/{row}/{model}/rating", {
    params: { path: { run_id: id, row, model } },
    body: { thumb },
  });
  if (error || !data) throw toApiError(error, response.status);
  return data;
}

/** Saves the run's JSON or CSV export (both carry the manifest) through the browser's download. */
export async function downloadExport(id: string, kind: "json" | "csv"): Promise<void> {
  await downloadFromApi(`/api/v1/arena/runs/${encodeURIComponent(id)}/export.${kind}`, `${id}.${kind}`);
}

/** Cells as a grid: one array per prompt row, one cell per model in column order. */
export function cellGrid(run: Pick<PromptRun, "cells" | "models" | "rows">): (RunCell | undefined)[][] {
  const at = new Map(run.cells.map((c) => [`${c.row}\u0000${c.model}`, c]));
  return Array.from({ length: run.rows }, (_, r) => run.models.map((m) => at.get(`${r + 1}\u0000${m}`)));
}

/** Share of cells finished (completed or failed), 0-100. */
export function runPercent(run: Pick<PromptRunInfo, "progress">): number {
  const { total, completed, failed } = run.progress;
  return total ? Math.round(((completed + failed) / total) * 100) : 0;
}

/** Linear-interpolated quantile (q in 0..1) of the values, or null when there are none. */
export function quantile(values: number[], q: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Distribution {
  label: string;
  values: number[];
}

/** Per model, the finished cells' values of one figure (nulls left out), in column order. */
export function distributions(run: Pick<PromptRun, "cells" | "models">, key: "ttft_ms" | "tokens_per_s"): Distribution[] {
  return run.models.map((label) => ({
    label,
    values: run.cells
      .filter((c) => c.model === label && c.status === "completed" && c[key] != null)
      .map((c) => c[key] as number),
  }));
}

/** Pass rate (percent) per model and check, for a bar chart; checks no row gives are left out. */
export function passRates(run: Pick<PromptRun, "summaries">): { label: string; value: number | null }[] {
  return run.summaries.flatMap((s) =>
    s.checks.map((c) => ({ label: `${s.model} · ${c.name}`, value: c.rate == null ? null : c.rate * 100 })),
  );
}

/** The cells an event reports merged into a run (newer wins), with its status and counts. */
export function applyEvent(run: PromptRun, ev: RunEvent): PromptRun {
  if (!ev.cells.length && ev.status === run.status) return { ...run, progress: ev.progress };
  const fresh = new Map(ev.cells.map((c) => [`${c.row}\u0000${c.model}`, c]));
  return {
    ...run,
    status: ev.status,
    progress: ev.progress,
    cells: run.cells.map((c) => fresh.get(`${c.row}\u0000${c.model}`) ?? c),
  };
}
