import type { Schemas } from "@/lib/api";
import { toApiError } from "@/lib/errors";
import { formatMs, formatRate } from "@/lib/format";
import type { SamplingParams } from "@/lib/params";
import { toRequestParams } from "@/lib/params";
import { eventJson, streamEvents } from "@/lib/stream";

export type CompareRequest = Schemas["CompareRequest"];
type GenerateResponse = Schemas["GenerateResponse"];

/** Payloads of POST /api/v1/compare's events (backend/app/schemas/compare.py). */
interface TokenEvent {
  index: number;
  text: string;
}
interface DoneEvent {
  index: number;
  response: GenerateResponse;
  schema_valid?: boolean | null;
  schema_error?: string | null;
}
interface ErrorEvent {
  index: number;
  error: unknown;
}

export interface CompareTarget {
  model: string;
  backend: string;
}

export interface CompareColumn {
  target: CompareTarget;
  text: string;
  tokens: number;
  status: "waiting" | "streaming" | "done" | "error" | "stopped";
  response?: GenerateResponse;
  error?: string;
  /** With a JSON schema: whether the answer followed it (checked by the server). */
  schemaValid?: boolean | null;
  schemaError?: string | null;
}

export interface CompareRun {
  startedAt: string;
  mode: "chat" | "completion";
  prompt: string;
  system: string;
  params: SamplingParams;
  /** JSON schema (text) every column's output must follow; empty for free text. */
  schema?: string;
  columns: CompareColumn[];
  /** Server and backend versions, for the export. */
  environment?: { server_version?: string; backends: Record<string, string> };
}

/**
 * The targets with every missing or unknown model filled in: distinct models where there are
 * enough (the server's default first, then the other local models in order), so a new page
 * compares two different models. Targets holding a listed model are kept.
 */
export function fillTargets<T extends { model: string }>(targets: T[], local: string[], defaultModel?: string | null): T[] {
  const order = [...new Set([...(defaultModel && local.includes(defaultModel) ? [defaultModel] : []), ...local])];
  const used = new Set(targets.map((t) => t.model).filter((m) => local.includes(m)));
  return targets.map((t) => {
    if (local.includes(t.model)) return t;
    const next = order.find((m) => !used.has(m)) ?? order[0] ?? "";
    used.add(next);
    return { ...t, model: next };
  });
}

/** Why Run is disabled (shown beside it), or null when it can run. */
export function runBlocker(
  setup: { targets: CompareTarget[]; prompt: string; schema?: string },
  local: string[] | undefined,
  busy: boolean,
): string | null {
  if (busy) return null;
  if (local && local.length === 0) return "No local models: download one on the Models page.";
  if (setup.targets.length < 2) return "Add a second model.";
  const missing = setup.targets.findIndex((t) => !t.model || (local !== undefined && !local.includes(t.model)));
  if (missing !== -1) return local === undefined ? "Loading the model list…" : `Choose a model for Model ${missing + 1}.`;
  if (!setup.prompt.trim()) return "Type a prompt.";
  if (setup.schema?.trim()) {
    try {
      JSON.parse(setup.schema);
    } catch {
      return "The JSON schema is not valid JSON.";
    }
  }
  return null;
}

export function newRun(
  targets: CompareTarget[],
  mode: "chat" | "completion",
  prompt: string,
  system: string,
  params: SamplingParams,
  schema = "",
): CompareRun {
  return {
    startedAt: new Date().toISOString(),
    mode,
    prompt,
    system,
    params,
    schema,
    columns: targets.map((target) => ({ target, text: "", tokens: 0, status: "waiting" })),
  };
}

export function compareBody(run: CompareRun): CompareRequest {
  const models = run.columns.map((c) => ({ model: c.target.model, ...(c.target.backend ? { backend: c.target.backend } : {}) }));
  const input =
    run.mode === "chat"
      ? { messages: [{ role: "user" as const, content: run.prompt }], ...(run.system ? { system: run.system } : {}) }
      : { prompt: run.prompt };
  const schema = run.schema?.trim() ? { json_schema: JSON.parse(run.schema) as Record<string, unknown> } : {};
  return { models, ...input, ...toRequestParams(run.params), ...schema };
}

/** Applies one compare event to a run, returning the new run (immutable update). */
export function applyEvent(run: CompareRun, name: string, data: unknown): CompareRun {
  const columns = [...run.columns];
  if (name === "token") {
    const ev = data as TokenEvent;
    const c = columns[ev.index];
    if (c) columns[ev.index] = { ...c, text: c.text + ev.text, tokens: c.tokens + 1, status: "streaming" };
  } else if (name === "done") {
    const ev = data as DoneEvent;
    const c = columns[ev.index];
    if (c)
      columns[ev.index] = {
        ...c,
        text: ev.response.text,
        response: ev.response,
        status: "done",
        schemaValid: ev.schema_valid ?? null,
        schemaError: ev.schema_error ?? null,
      };
  } else if (name === "error") {
    const ev = data as ErrorEvent;
    const c = columns[ev.index];
    if (c) columns[ev.index] = { ...c, status: "error", error: toApiError(ev.error).message };
  } else {
    return run;
  }
  return { ...run, columns };
}

/** Streams a compare run; onUpdate gets each new state. Resolves at the `end` event. */
export async function streamCompare(run: CompareRun, onUpdate: (run: CompareRun) => void, signal?: AbortSignal) {
  let current = run;
  for await (const ev of streamEvents("/api/v1/compare", { body: compareBody(run), signal })) {
    if (ev.event === "end") return current;
    current = applyEvent(current, ev.event, eventJson(ev));
    onUpdate(current);
  }
  return current;
}

export function figureRows(run: CompareRun) {
  return run.columns.map((c) => ({
    model: c.target.model,
    backend: c.response?.timings.backend ?? (c.target.backend || "auto"),
    ttft_ms: c.response?.timings.ttft_ms ?? null,
    /** TTFT without loading the model (what a second run would see). */
    ttft_loaded_ms:
      c.response?.timings.ttft_ms != null ? Math.max(0, c.response.timings.ttft_ms - (c.response.timings.load_ms ?? 0)) : null,
    tokens_per_second: c.response?.timings.tokens_per_second ?? null,
    completion_tokens: c.response?.usage.completion_tokens ?? c.tokens,
    prompt_tokens: c.response?.usage.prompt_tokens ?? null,
    total_ms: c.response?.timings.total_ms ?? null,
    load_ms: c.response?.timings.load_ms ?? null,
    finish_reason: c.response?.finish_reason ?? c.status,
    error: c.error ?? null,
  }));
}

/** The run as a JSON document: prompt, parameters, versions, outputs, figures. */
export function exportJson(run: CompareRun): string {
  return JSON.stringify(
    {
      kind: "mistral-playground-compare",
      started_at: run.startedAt,
      environment: run.environment ?? null,
      mode: run.mode,
      system: run.system || null,
      prompt: run.prompt,
      parameters: run.params,
      results: run.columns.map((c, i) => ({
        ...figureRows(run)[i],
        backend_reason: c.response?.timings.backend_reason ?? null,
        output: c.text,
      })),
    },
    null,
    2,
  );
}

function cell(s: string) {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The run as Markdown: a figures table then each model's output. */
export function exportMarkdown(run: CompareRun): string {
  const rows = figureRows(run);
  const env = run.environment;
  const lines = [
    `# Compare run ${run.startedAt}`,
    "",
    env?.server_version ? `Server: Mistral Playground ${env.server_version}` : "",
    ...(env ? Object.entries(env.backends).map(([name, desc]) => `- backend \`${name}\`: ${desc}`) : []),
    "",
    `Mode: ${run.mode}`,
    "",
    "Parameters: " +
      Object.entries(run.params)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? JSON.stringify(v) : String(v)}`)
        .join(", "),
    "",
    ...(run.system ? ["## System prompt", "", run.system, ""] : []),
    "## Prompt",
    "",
    run.prompt,
    "",
    "## Figures",
    "",
    "TTFT includes loading the model when the run had to load it (Load).",
    "",
    "| Model | Backend | TTFT | Load | Speed | Tokens | Total | Finish |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${cell(r.model)} | ${cell(r.backend)} | ${formatMs(r.ttft_ms)} | ${formatMs(r.load_ms)} | ${formatRate(r.tokens_per_second)} | ${r.completion_tokens} | ${formatMs(r.total_ms)} | ${r.error ? `error: ${cell(r.error)}` : r.finish_reason} |`,
    ),
    "",
    ...run.columns.flatMap((c, i) => [`## ${i + 1}. ${c.target.model} (${rows[i].backend})`, "", c.text || "_(no output)_", ""]),
  ];
  return lines.filter((l, i, a) => !(l === "" && a[i - 1] === "")).join("\n");
}

