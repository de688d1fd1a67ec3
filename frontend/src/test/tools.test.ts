import { describe, expect, it } from "vitest";

import { ChunkAssembler, EXAMPLE_TOOL, buildTools, pendingCalls, schemaFormat, toolChoiceOf, turnToolChoice } from "@/lib/tools";
import { isSendKey } from "@/lib/keys";

describe("buildTools", () => {
  it("turns drafts into OpenAI tool definitions", () => {
    const { tools, error } = buildTools([EXAMPLE_TOOL]);
    expect(error).toBeNull();
    expect(tools[0]).toMatchObject({ type: "function", function: { name: "get_weather" } });
  });

  it("names the first problem", () => {
    expect(buildTools([{ name: "bad name", description: "", parameters: "{}" }]).error).toMatch(/name/);
    expect(buildTools([{ ...EXAMPLE_TOOL, parameters: "{oops" }]).error).toMatch(/not JSON/);
    expect(buildTools([EXAMPLE_TOOL, EXAMPLE_TOOL]).error).toMatch(/Two tools/);
    expect(buildTools([{ ...EXAMPLE_TOOL, parameters: "[]" }]).error).toMatch(/schema object/);
  });
});

describe("ChunkAssembler", () => {
  it("assembles streamed calls as the SDK does", () => {
    const a = new ChunkAssembler();
    a.add({ choices: [{ delta: { content: "" } }] });
    a.add({ choices: [{ delta: { reasoning_content: "hmm" } }] });
    a.add({ choices: [{ delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] } }] });
    a.add({ choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"x"' } }] } }] });
    a.add({ choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: ": 1}" } }] } }] });
    a.add({ choices: [{ delta: {}, finish_reason: "tool_calls" }] });
    const m = a.message();
    expect(m.content).toBeNull();
    expect(m.reasoning_content).toBe("hmm");
    expect(m.tool_calls).toEqual([{ id: "call_1", type: "function", function: { name: "f", arguments: '{"x": 1}' } }]);
    expect(a.finish).toBe("tool_calls");
  });
});

describe("pendingCalls and schemaFormat", () => {
  it("lists calls without a result", () => {
    const call = { id: "c1", type: "function" as const, function: { name: "f", arguments: "{}" } };
    const msgs = [{ role: "assistant" as const, content: null, tool_calls: [call] }];
    expect(pendingCalls(msgs)).toEqual([call]);
    expect(pendingCalls([...msgs, { role: "tool" as const, content: "1", tool_call_id: "c1" }])).toEqual([]);
  });

  it("wraps a schema as response_format", () => {
    expect(schemaFormat("")).toBeNull();
    expect(schemaFormat('{"type": "object"}')).toMatchObject({ type: "json_schema", json_schema: { schema: { type: "object" } } });
    expect(() => schemaFormat("{")).toThrow();
  });
});

describe("compare with a schema", () => {
  it("sends the schema and keeps each column's verdict", async () => {
    const { applyEvent, compareBody, newRun } = await import("@/lib/compare");
    const { FACTORY_PARAMS } = await import("@/lib/params");
    const run = newRun([{ model: "a", backend: "" }, { model: "b", backend: "" }], "chat", "hi", "", FACTORY_PARAMS, '{"type": "object"}');
    expect(compareBody(run).json_schema).toEqual({ type: "object" });
    const response = { text: "{}", id: "x", model: "a", finish_reason: "stop" } as never;
    const done = applyEvent(run, "done", { index: 1, response, schema_valid: false, schema_error: "not JSON" });
    expect(done.columns[1]).toMatchObject({ schemaValid: false, schemaError: "not JSON", status: "done" });
  });
});

describe("turnToolChoice", () => {
  const user = { role: "user" as const, content: "weather?" };
  const call = { role: "assistant" as const, content: null, tool_calls: [{ id: "c1", type: "function" as const, function: { name: "f", arguments: "{}" } }] };
  const result = { role: "tool" as const, tool_call_id: "c1", content: "21" };

  it("resets a forced choice to auto on the turn after a tool result", () => {
    expect(turnToolChoice("required", [user])).toBe("required");
    expect(turnToolChoice("required", [user, call, result])).toBe("auto");
    expect(turnToolChoice(toolChoiceOf("f"), [user, call, result])).toBe("auto");
    expect(turnToolChoice(toolChoiceOf("f"), [user])).toEqual({ type: "function", function: { name: "f" } });
  });

  it("keeps it when asked to, and leaves auto and none alone", () => {
    expect(turnToolChoice("required", [user, call, result], true)).toBe("required");
    expect(turnToolChoice("none", [user, call, result])).toBe("none");
  });
});

describe("isSendKey", () => {
  const key = (key: string, extra: { shiftKey?: boolean; isComposing?: boolean; keyCode?: number } = {}) => ({
    key,
    shiftKey: !!extra.shiftKey,
    keyCode: extra.keyCode,
    nativeEvent: { isComposing: !!extra.isComposing } as unknown as KeyboardEvent,
  });
  it("sends on Enter, not on Shift+Enter or an IME confirmation", () => {
    expect(isSendKey(key("Enter"))).toBe(true);
    expect(isSendKey(key("Enter", { shiftKey: true }))).toBe(false);
    expect(isSendKey(key("Enter", { isComposing: true }))).toBe(false);
    expect(isSendKey(key("Enter", { keyCode: 229 }))).toBe(false);
    expect(isSendKey(key("a"))).toBe(false);
  });
});
