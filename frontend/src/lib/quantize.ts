/**
 * Quantization types offered by the server (POST /api/v1/models/{id}/quantize), in the order
 * the form lists them, with a short note each; and how a model's lineage reads in the list.
 */
import type { Schemas } from "@/lib/api";

export const QUANT_TYPES: { name: string; note: string }[] = [
  { name: "q8_0", note: "8-bit, near lossless" },
  { name: "q6_k", note: "6-bit k-quant" },
  { name: "q5_k_m", note: "5-bit k-quant, medium" },
  { name: "q5_k_s", note: "5-bit k-quant, small" },
  { name: "q5_0", note: "5-bit" },
  { name: "q4_k_m", note: "4-bit k-quant, medium (common choice)" },
  { name: "q4_k_s", note: "4-bit k-quant, small" },
  { name: "q4_0", note: "4-bit" },
  { name: "q3_k_m", note: "3-bit k-quant" },
  { name: "q2_k", note: "2-bit k-quant, lowest quality" },
  { name: "iq4_xs", note: "4-bit i-quant" },
  { name: "f16", note: "16-bit float" },
  { name: "bf16", note: "bfloat16" },
];

/** Whether the server can quantize a model of this format (a GGUF file or an HF folder). */
export function canQuantize(format: string): boolean {
  return format === "gguf" || format === "hf";
}

/** "from tiny-f16.gguf · q8_0 · 9.17 bits/weight" */
export function lineageLabel(lineage: Schemas["ModelLineage"]): string {
  return `from ${lineage.parent} · ${lineage.type} · ${lineage.bits_per_weight.toFixed(2)} bits/weight`;
}

/** What a running job is doing, in words. */
export function stageLabel(job: Schemas["QuantizationInfo"]): string {
  if (job.status === "queued") return "queued";
  if (job.status !== "running") return job.status;
  if (job.stage === "converting") return "converting to an f16 GGUF";
  if (job.stage === "quantizing" && job.current < job.total)
    return `quantizing ${job.outputs[job.current]?.type ?? ""} (${job.current + 1} of ${job.total})`;
  return job.stage;
}
