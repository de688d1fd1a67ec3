import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { mcpBody } from "@/components/conversations/useConversationChat";
import { offeredNames } from "@/components/mcp/McpChatTools";
import { McpToolCard, formatDuration } from "@/components/mcp/McpToolCard";
import { streamAnswer, toTurns, type StoredMessage } from "@/lib/conversations";
import { applyToolEvent, configOf, decideApproval, formOf, parsePairs, type McpServer, type ToolCallView } from "@/lib/mcp";

// The generated API client keeps the fetch it was made with; the decision is checked at the
// module's edge instead (the request itself is the backend tests' business).
vi.mock("@/lib/mcp", async (original) => ({ ...(await original<typeof import("@/lib/mcp")>()), decideApproval: vi.fn(async () => {}) }));

const call = { id: "call_1", server: "facts", tool: "lookup", arguments: '{"city":"paris"}' };
const result = { ...call, content: "Paris is the capital of France.", status: "ok" as const, duration_ms: 12.5, truncated: false };

function message(m: Partial<StoredMessage> & Pick<StoredMessage, "id" | "role">): StoredMessage {
  return { content: "", created_at: 1, tool_calls: [], ...m } as StoredMessage;
}

describe("MCP tool calls in a chat", () => {
  it("follows a call through approval to its result, ignoring replays", () => {
    let calls: ToolCallView[] = [];
    calls = applyToolEvent(calls, "tool_call", call);
    expect(calls).toEqual([{ ...call, status: "running" }]);
    calls = applyToolEvent(calls, "tool_call", call); // a re-attach replays it
    expect(calls).toHaveLength(1);
    calls = applyToolEvent(calls, "approval_request", { ...call, approval_id: "appr_1" });
    expect(calls[0]).toMatchObject({ status: "awaiting", approvalId: "appr_1" });
    calls = applyToolEvent(calls, "tool_result", result);
    expect(calls[0]).toMatchObject({ status: "ok", result: result.content, durationMs: 12.5, approvalId: undefined });
    // A replayed approval after the result does not ask again.
    expect(applyToolEvent(calls, "approval_request", { ...call, approval_id: "appr_1" })[0].status).toBe("ok");
  });

  it("folds stored tool messages into the answer after them", () => {
    const turns = toTurns([
      message({ id: "u", role: "user", content: "Paris?" }),
      message({ id: "a1", role: "assistant", finish_reason: "tool_calls", tool_calls: [{ ...call, name: "lookup" }] }),
      message({
        id: "t1",
        role: "tool",
        content: result.content,
        tool_call_id: "call_1",
        tool_result: { server: "facts", tool: "lookup", status: "denied", duration_ms: 3, truncated: false },
      }),
      message({ id: "a2", role: "assistant", content: "It is in France.", finish_reason: "stop" }),
    ]);
    expect(turns.map((t) => [t.id, t.role])).toEqual([
      ["u", "user"],
      ["a2", "assistant"],
    ]);
    expect(turns[0].tools).toBeUndefined();
    expect(turns[1].tools).toEqual([{ ...call, status: "denied", result: result.content, durationMs: 3, truncated: false }]);
  });

  it("streamAnswer reports tool events and sends the chosen servers", async () => {
    const answer = message({ id: "a", role: "assistant", content: "Done" });
    const body = [
      `event: tool_call\nid: 0.0\ndata: ${JSON.stringify(call)}\n\n`,
      `event: approval_request\nid: 0.1\ndata: ${JSON.stringify({ ...call, approval_id: "appr_9" })}\n\n`,
      `event: tool_result\nid: 0.2\ndata: ${JSON.stringify(result)}\n\n`,
      'event: token\nid: 4\ndata: {"text":"Done"}\n\n',
      `event: done\ndata: ${JSON.stringify(answer)}\n\n`,
    ].join("");
    const fetchMock = vi.fn(async () => new Response(body, { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const seen: string[] = [];
    const request = { ...mcpBody({ mcpServers: ["facts"], mcpToolChoice: "lookup" }) };
    const end = await streamAnswer("c1", { kind: "send", content: "Paris?" }, request, {
      onText: () => {},
      onTools: (calls) => seen.push(calls.map((c) => c.status).join()),
    });
    vi.unstubAllGlobals();
    expect(end).toEqual({ kind: "done", message: answer });
    expect(seen).toEqual(["running", "awaiting", "ok"]);
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(JSON.parse(init.body as string)).toMatchObject({ mcp_servers: ["facts"], tool_choice: "lookup" });
    expect(mcpBody({ mcpServers: [], mcpToolChoice: "lookup" })).toEqual({});
    expect(mcpBody({ mcpServers: ["a"], mcpToolChoice: "auto" })).toEqual({ mcp_servers: ["a"] });
  });

  it("the card shows server, tool, arguments and status, and sends Approve", async () => {
    render(<McpToolCard call={{ ...call, status: "awaiting", approvalId: "appr_1" }} />);
    expect(screen.getByTestId("mcp-tool-name")).toHaveTextContent("facts · lookup");
    expect(screen.getByTestId("mcp-tool-status")).toHaveTextContent("waiting for approval");
    expect(screen.getByTestId("mcp-tool-arguments")).toHaveTextContent('"city": "paris"');
    await userEvent.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(decideApproval).toHaveBeenCalledWith("appr_1", true));
    expect(screen.getByRole("button", { name: "Deny" })).toBeDisabled();
  });

  it("the card shows a finished call's result and duration", () => {
    render(<McpToolCard call={{ ...call, status: "timeout", result: "Error: timed out", durationMs: 4000 }} />);
    expect(screen.getByTestId("mcp-tool-status")).toHaveTextContent("timed out");
    expect(screen.getByTestId("mcp-tool-result")).toHaveTextContent("Error: timed out");
    expect(screen.getByTestId("mcp-tool-duration")).toHaveTextContent("4.0 s");
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
    expect(formatDuration(12.4)).toBe("12 ms");
  });
});

describe("MCP server settings", () => {
  const server: McpServer = {
    name: "facts",
    transport: "stdio",
    command: "/usr/bin/python3",
    args: ["server.py", "--quiet"],
    env: { TOKEN: "********" },
    headers: {},
    disabled: false,
    approval: "ask",
    allowed_tools: ["lookup"],
    status: { connected: true, last_error: null },
  };

  it("round-trips a listed server through the form, keeping the redacted secret", () => {
    const form = formOf(server);
    expect(form).toMatchObject({ args: "server.py\n--quiet", env: "TOKEN=********", approval: "ask", enabled: true, allowedTools: "lookup" });
    expect(configOf(form)).toEqual({
      command: "/usr/bin/python3",
      args: ["server.py", "--quiet"],
      env: { TOKEN: "********" },
      approval: "ask",
      disabled: false,
      allowedTools: ["lookup"],
    });
    const http = configOf({ ...form, transport: "http", url: " https://tools.example/mcp ", headers: "Authorization: Bearer a:b", allowedTools: "" });
    expect(http).toEqual({ url: "https://tools.example/mcp", headers: { Authorization: "Bearer a:b" }, approval: "ask", disabled: false, allowedTools: null });
  });

  it("refuses a malformed line", () => {
    expect(() => parsePairs("NOVALUE", "=")).toThrow('"NOVALUE" is not KEY=value');
    expect(parsePairs("A=1=2\n\n B = x ", "=")).toEqual({ A: "1=2", B: "x" });
  });

  it("names clashing tools server__tool, as the server offers them", () => {
    const tool = (name: string, allowed = true) => ({ name, description: "", input_schema: {}, allowed });
    expect(
      offeredNames([
        { server: "a", tools: [tool("lookup"), tool("add")], duration_ms: 1 },
        { server: "b", tools: [tool("lookup"), tool("hidden", false)], duration_ms: 1 },
      ]),
    ).toEqual(["a__lookup", "add", "b__lookup"]);
  });
});
