import { describe, expect, it } from "vitest";

import { FACTORY_PARAMS, PARAM_SPECS, formatStop, parseStop, reviveParams, toRequestParams, validateParam, validateParams } from "@/lib/params";

const spec = (key: string) => PARAM_SPECS.find((s) => s.key === key)!;

describe("params", () => {
  it("validates against the API's bounds", () => {
    expect(validateParam(spec("temperature"), 0)).toBeNull();
    expect(validateParam(spec("temperature"), 2.5)).toMatch(/between 0 and 2/);
    expect(validateParam(spec("top_k"), 1.5)).toMatch(/whole number/);
    expect(validateParam(spec("max_tokens"), NaN)).toMatch(/must be a number/);
    expect(validateParams(FACTORY_PARAMS)).toEqual({});
    expect(Object.keys(validateParams({ ...FACTORY_PARAMS, top_p: 0, stop: ["a", "b", "c", "d", "e"] }))).toEqual(["top_p", "stop"]);
  });

  it("parses and formats stop sequences, with \\n escapes", () => {
    expect(parseStop("###,  \\n\\n , ,END")).toEqual(["###", "\n\n", "END"]);
    expect(formatStop(["###", "\n\n"])).toBe("###, \\n\\n");
    expect(parseStop(formatStop(["a", "\n"]))).toEqual(["a", "\n"]);
  });

  it("builds request fields, leaving the seed out when unset", () => {
    expect(toRequestParams(FACTORY_PARAMS)).not.toHaveProperty("seed");
    expect(toRequestParams({ ...FACTORY_PARAMS, seed: 42 }).seed).toBe(42);
  });

  it("revives stored params over the defaults, dropping bad values", () => {
    expect(reviveParams(null)).toEqual(FACTORY_PARAMS);
    const r = reviveParams({ temperature: 1.2, top_p: 7, seed: 3, stop: ["x", 5], extra: true });
    expect(r.temperature).toBe(1.2);
    expect(r.top_p).toBe(FACTORY_PARAMS.top_p);
    expect(r.seed).toBe(3);
    expect(r.stop).toEqual(["x"]);
    expect(r).not.toHaveProperty("extra");
  });
});
