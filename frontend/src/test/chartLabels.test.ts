import { describe, expect, it } from "vitest";

import { chartLabels, LABEL_CHARS } from "@/lib/chartLabels";
import { passRates } from "@/lib/promptRuns";

const HF = "smollm2-135m-instruct";
const GGUF = "smollm2-135m-instruct-q4_1.gguf";

describe("chart labels", () => {
  it("keeps prompt-set bars apart: model variant and check name survive the cut", () => {
    const checks = ["contains", "json", "max length"].map((name) => ({ name, rate: 0.5 }));
    const labels = passRates({ summaries: [{ model: HF, checks }, { model: GGUF, checks }] } as never).map((d) => d.label);
    const shown = chartLabels(labels);
    expect(new Set(shown).size).toBe(6); // it was six times "smollm2-135m-inst…"
    shown.forEach((s, i) => {
      expect(s.length).toBeLessThanOrEqual(LABEL_CHARS);
      expect(s.endsWith(checks[i % 3].name)).toBe(true);
      expect(s.startsWith("smol")).toBe(true);
    });
    expect(shown[3]).toContain("gguf");
  });

  it("keeps Compare's numbered columns apart and leaves short labels alone", () => {
    const shown = chartLabels([`1. ${HF}`, `2. ${GGUF}`, `3. ${HF}`]);
    expect(shown[0]).toMatch(/^1\. /);
    expect(shown[1]).toMatch(/^2\. .*gguf$/);
    expect(new Set(shown).size).toBe(3);
    expect(chartLabels(["hybrid", "dense"])).toEqual(["hybrid", "dense"]);
  });

  it("finds a difference in the middle when start and end are shared", () => {
    const a = "a-very-long-common-prefix-ALPHA-and-a-long-common-suffix-text";
    const b = "a-very-long-common-prefix-BRAVO-and-a-long-common-suffix-text";
    const shown = chartLabels([a, b]);
    expect(shown[0]).not.toBe(shown[1]);
    expect(shown[0]).toContain("ALPHA");
    expect(shown[1]).toContain("BRAVO");
    shown.forEach((s) => expect(s.length).toBeLessThanOrEqual(LABEL_CHARS));
  });

  it("labels that are the same in full stay the same", () => {
    expect(chartLabels([GGUF, GGUF])).toEqual([chartLabels([GGUF])[0], chartLabels([GGUF])[0]]);
  });
});
