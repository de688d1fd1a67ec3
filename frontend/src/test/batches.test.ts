import { describe, expect, it } from "vitest";

import { batchPercent, type Batch } from "@/lib/batches";

const batch = (total: number, completed: number, failed: number) =>
  ({ request_counts: { total, completed, failed } }) as Batch;

describe("batchPercent", () => {
  it("counts completed and failed lines as finished", () => {
    expect(batchPercent(batch(4, 1, 1))).toBe(50);
    expect(batchPercent(batch(3, 3, 0))).toBe(100);
  });
  it("is 0 for an empty batch", () => {
    expect(batchPercent(batch(0, 0, 0))).toBe(0);
  });
});
