import { describe, expect, it } from "vitest";

import {
  applyEvent,
  cellGrid,
  distributions,
  passRates,
  quantile,
  runConfig,
  runPercent,
  sniffFormat,
  type PromptRun,
  type RunCell,
} from "@/lib/promptRuns";
import { FACTORY_PARAMS } from "@/lib/params";

const cell = (row: number, model: string, extra: Partial<RunCell> = {}): RunCell => ({
  row,
  model,
  status: "completed",
  checks: [],
  ...extra,
});

const run = {
  id: "run_1",
  models: ["a", "b"],
  rows: 2,
  status: "running",
  progress: { total: 4, completed: 2, failed: 1 },
  cells: [
    cell(1, "a", { ttft_ms: 10, tokens_per_s: 100 }),
    cell(1, "b", { ttft_ms: 30, tokens_per_s: null }),
    cell(2, "a", { status: "failed", ttft_ms: 999 }),
    cell(2, "b", { status: "pending" }),
  ],
  summaries: [
    { model: "a", checks: [{ name: "regex", passed: 1, total: 2, rate: 0.5 }] },
    { model: "b", checks: [{ name: "exact", passed: 0, total: 0, rate: null }] },
  ],
} as unknown as PromptRun;

describe("promptRuns", () => {
  it("lays cells out as rows x models", () => {
    const grid = cellGrid(run);
    expect(grid).toHaveLength(2);
    expect(grid[1].map((c) => `${c?.row}${c?.model}${c?.status}`)).toEqual(["2afailed", "2bpending"]);
  });

  it("takes distributions from finished cells only, skipping missing figures", () => {
    expect(distributions(run, "ttft_ms")).toEqual([
      { label: "a", values: [10] },
      { label: "b", values: [30] },
    ]);
    expect(distributions(run, "tokens_per_s")[1].values).toEqual([]);
  });

  it("interpolates quantiles", () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([5], 0.9)).toBe(5);
    expect(quantile([], 0.5)).toBeNull();
  });

  it("turns check summaries into percent bars", () => {
    expect(passRates(run)).toEqual([
      { label: "a · regex", value: 50 },
      { label: "b · exact", value: null },
    ]);
  });

  it("counts finished cells for progress and merges event cells", () => {
    expect(runPercent(run)).toBe(75);
    const next = applyEvent(run, {
      status: "completed",
      progress: { total: 4, completed: 3, failed: 1 },
      cells: [cell(2, "b", { text: "done" })],
    });
    expect(next.status).toBe("completed");
    expect(next.cells[3].text).toBe("done");
    expect(next.cells[0]).toBe(run.cells[0]);
  });

  it("builds the request config and guesses the format like the server", () => {
    const config = runConfig("  ", [{ model: "x", backend: "auto" }, { model: "y", backend: "llamacpp" }], { ...FACTORY_PARAMS, seed: 3 });
    expect(config.models).toEqual([{ model: "x" }, { model: "y", backend: "llamacpp" }]);
    expect(config).not.toHaveProperty("name");
    expect(config.params.seed).toBe(3);
    expect(sniffFormat('  {"prompt": "a"}')).toBe("jsonl");
    expect(sniffFormat("prompt\nhi")).toBe("csv");
  });
});
