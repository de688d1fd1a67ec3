/** Sampling parameters as the forms edit them, and their conversion to API request fields. */
export interface SamplingParams {
  temperature: number;
  top_p: number;
  top_k: number;
  max_tokens: number;
  repetition_penalty: number;
  seed: number | null;
  stop: string[];
}

export const FACTORY_PARAMS: SamplingParams = {
  temperature: 0.7,
  top_p: 1,
  top_k: 0,
  max_tokens: 256,
  repetition_penalty: 1,
  seed: null,
  stop: [],
};

export interface ParamSpec {
  key: "temperature" | "top_p" | "top_k" | "max_tokens" | "repetition_penalty";
  label: string;
  min: number;
  max: number;
  step: number;
  help: string;
}

// Same bounds as the backend's schemas (backend/app/schemas/common.py), so the form rejects what
// the API would.
export const PARAM_SPECS: ParamSpec[] = [
  { key: "temperature", label: "Temperature", min: 0, max: 2, step: 0.05, help: "0 always picks the likeliest token" },
  { key: "top_p", label: "Top-p", min: 0.01, max: 1, step: 0.01, help: "Nucleus sampling mass" },
  { key: "top_k", label: "Top-k", min: 0, max: 1000, step: 1, help: "0 disables" },
  { key: "max_tokens", label: "Max tokens", min: 1, max: 32768, step: 1, help: "Most tokens to generate" },
  { key: "repetition_penalty", label: "Repetition penalty", min: 0.01, max: 10, step: 0.05, help: "1 disables" },
];

export const MAX_STOP = 4;

/** Returns an error message for a parameter value, or null when it is valid. */
export function validateParam(spec: ParamSpec, value: number): string | null {
  if (!Number.isFinite(value)) return `${spec.label} must be a number`;
  if (value < spec.min || value > spec.max) return `${spec.label} must be between ${spec.min} and ${spec.max}`;
  if (spec.step === 1 && !Number.isInteger(value)) return `${spec.label} must be a whole number`;
  return null;
}

export function validateParams(p: SamplingParams): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const spec of PARAM_SPECS) {
    const err = validateParam(spec, p[spec.key]);
    if (err) errors[spec.key] = err;
  }
  if (p.seed !== null && !Number.isInteger(p.seed)) errors.seed = "Seed must be a whole number";
  if (p.stop.length > MAX_STOP) errors.stop = `At most ${MAX_STOP} stop sequences`;
  return errors;
}

/** "a, b\n c" style input -> stop list. Commas separate; a literal "\n" means newline. */
export function parseStop(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim().replace(/\\n/g, "\n"))
    .filter((s) => s.length > 0);
}

export function formatStop(stop: string[]): string {
  return stop.map((s) => s.replace(/\n/g, "\\n")).join(", ");
}

/** Request fields for the generate/compare/answer APIs (seed omitted when unset). */
export function toRequestParams(p: SamplingParams) {
  return {
    temperature: p.temperature,
    top_p: p.top_p,
    top_k: p.top_k,
    max_tokens: p.max_tokens,
    repetition_penalty: p.repetition_penalty,
    stop: p.stop,
    ...(p.seed === null ? {} : { seed: p.seed }),
  };
}

/** Merges stored (possibly older or partial) params over the defaults. */
export function reviveParams(raw: unknown, defaults: SamplingParams = FACTORY_PARAMS): SamplingParams {
  const out: SamplingParams = { ...defaults, stop: [...defaults.stop] };
  if (!raw || typeof raw !== "object") return out;
  const r = raw as Record<string, unknown>;
  for (const spec of PARAM_SPECS) {
    if (typeof r[spec.key] === "number" && validateParam(spec, r[spec.key] as number) === null) {
      out[spec.key] = r[spec.key] as number;
    }
  }
  if (r.seed === null || (typeof r.seed === "number" && Number.isInteger(r.seed))) out.seed = r.seed as number | null;
  if (Array.isArray(r.stop)) out.stop = r.stop.filter((s): s is string => typeof s === "string").slice(0, MAX_STOP);
  return out;
}
