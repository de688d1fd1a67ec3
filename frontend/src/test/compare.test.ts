import { describe, expect, it } from "vitest";

import { applyEvent, compareBody, exportJson, exportMarkdown, figureRows, fillTargets, newRun, runBlocker } from "@/lib/compare";
import { FACTORY_PARAMS } from "@/lib/params";

const response = (text: string, backend = "transformers") => ({
  id: "r",
  model: "tiny",
  text,
  finish_reason: "length" as const,
  usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
  timings: { ttft_ms: 50, tokens_per_second: 120.5, total_ms: 80, load_ms: 0, backend, backend_reason: "auto" },
});

describe("compare run", () => {
  const base = newRun(
    [
      { model: "tiny", backend: "" },
      { model: "tiny-b", backend: "llamacpp" },
    ],
    "chat",
    "Say | hi",
    "Be brief",
    { ...FACTORY_PARAMS, seed: 1 },
  );

  it("builds the request: chat messages, system, backends only when chosen, seed", () => {
    const body = compareBody(base);
    expect(body.models).toEqual([{ model: "tiny" }, { model: "tiny-b", backend: "llamacpp" }]);
    expect(body.messages).toEqual([{ role: "user", content: "Say | hi" }]);
    expect(body.system).toBe("Be brief");
    expect(body.seed).toBe(1);
  });

  it("routes token, done and error events to their columns", () => {
    let run = applyEvent(base, "token", { index: 1, text: "he" });
    run = applyEvent(run, "token", { index: 1, text: "llo" });
    expect(run.columns[1]).toMatchObject({ text: "hello", tokens: 2, status: "streaming" });
    expect(run.columns[0].status).toBe("waiting");
    run = applyEvent(run, "done", { index: 1, response: response("hello") });
    run = applyEvent(run, "error", { index: 0, error: { error: { message: "no such model", type: "not_found_error" } } });
    expect(run.columns[1].status).toBe("done");
    expect(run.columns[0]).toMatchObject({ status: "error", error: "no such model" });
    expect(applyEvent(run, "ping", {})).toBe(run);
    expect(base.columns[1].text).toBe("");
  });

  it("exports JSON and Markdown with prompt, parameters, outputs and figures", () => {
    let run = applyEvent(base, "done", { index: 0, response: response("out A") });
    run = applyEvent(run, "done", { index: 1, response: response("out B", "llamacpp") });
    run.environment = { server_version: "0.1.0", backends: { transformers: "HF" } };
    const rows = figureRows(run);
    expect(rows[1]).toMatchObject({ model: "tiny-b", backend: "llamacpp", ttft_ms: 50, tokens_per_second: 120.5 });
    const json = JSON.parse(exportJson(run));
    expect(json.prompt).toBe("Say | hi");
    expect(json.parameters.seed).toBe(1);
    expect(json.environment.server_version).toBe("0.1.0");
    expect(json.results.map((r: { output: string }) => r.output)).toEqual(["out A", "out B"]);
    const md = exportMarkdown(run);
    expect(md).toContain("| tiny-b | llamacpp | 50 ms | 0 ms | 120.5 tok/s | 3 |");
    expect(md).toContain("## 2. tiny-b (llamacpp)");
    expect(md).toContain("out B");
    expect(md).toContain("Server: Mistral Playground 0.1.0");
  });
});

describe("compare setup", () => {
  const t = (model: string) => ({ model, backend: "" });

  it("fills empty slots with distinct models, the default first, and keeps chosen ones", () => {
    expect(fillTargets([t(""), t("")], ["a", "tiny", "b"], "tiny").map((x) => x.model)).toEqual(["tiny", "a"]);
    expect(fillTargets([t("b"), t("")], ["a", "tiny", "b"], "tiny").map((x) => x.model)).toEqual(["b", "tiny"]);
    expect(fillTargets([t(""), t("gone")], ["tiny"], "tiny").map((x) => x.model)).toEqual(["tiny", "tiny"]);
    const kept = [t("a"), t("b")];
    expect(fillTargets(kept, ["a", "b"], null)[0]).toBe(kept[0]);
  });

  it("says why Run is disabled", () => {
    const ok = { targets: [t("a"), t("b")], prompt: "hi" };
    expect(runBlocker(ok, ["a", "b"], false)).toBeNull();
    expect(runBlocker({ ...ok, targets: [t("a"), t("")] }, ["a", "b"], false)).toBe("Choose a model for Model 2.");
    expect(runBlocker({ ...ok, prompt: " " }, ["a", "b"], false)).toBe("Type a prompt.");
    expect(runBlocker(ok, [], false)).toMatch(/No local models/);
    expect(runBlocker({ ...ok, targets: [t("a"), t("")] }, undefined, false)).toMatch(/Loading/);
    expect(runBlocker({ ...ok, schema: "{" }, ["a", "b"], false)).toMatch(/not valid JSON/);
    expect(runBlocker({ ...ok, targets: [t("a")] }, ["a"], false)).toBe("Add a second model.");
  });
});
