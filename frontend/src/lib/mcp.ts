import { client, type Schemas } from "@/lib/api";
import type { StoredMessage } from "@/lib/conversations";
import { toApiError } from "@/lib/errors";

export type McpServer = Schemas["McpServerView"];
export type McpServerConfig = Schemas["McpServerConfig"];
export type McpServerTools = Schemas["McpServerTools"];

/** The query key of the server list (Settings and the Playground's chooser share it). */
export const MCP_SERVERS_KEY = ["get", "/api/v1/mcp/servers"];

/** What the server's API redacts secret values to (saved back, the server keeps the secret). */
export const REDACTED = "********";

function unwrap<T>(res: { data?: T; error?: unknown; response: Response }): T {
  if (res.error !== undefined || res.data === undefined) throw toApiError(res.error, res.response.status);
  return res.data;
}

export async function saveServer(name: string, config: McpServerConfig): Promise<McpServer> {
  return unwrap(await client.PUT("/api/v1/mcp/servers/{name}", { params: { path: { name } }, body: config }));
}

export async function deleteServer(name: string): Promise<void> {
  const res = await client.DELETE("/api/v1/mcp/servers/{name}", { params: { path: { name } } });
  if (!res.response.ok) throw toApiError(res.error, res.response.status);
}

/** Connects to a (possibly unsaved) configuration and lists what it offers. */
export async function testServer(name: string, config: McpServerConfig): Promise<McpServerTools> {
  return unwrap(await client.POST("/api/v1/mcp/test", { params: { query: { name: name || "test" } }, body: config }));
}

export async function serverTools(name: string): Promise<McpServerTools> {
  return unwrap(await client.GET("/api/v1/mcp/servers/{name}/tools", { params: { path: { name } } }));
}

/** Approves or denies a tool call that waits in a chat's stream. */
export async function decideApproval(approvalId: string, approve: boolean): Promise<void> {
  const res = await client.POST("/api/v1/mcp/approvals/{approval_id}", {
    params: { path: { approval_id: approvalId } },
    body: { approve },
  });
  if (!res.response.ok) throw toApiError(res.error, res.response.status);
}

// --- The Settings form: a server's configuration as editable text --------------------------

/** The form's fields: lists and maps as text, one item (or KEY=value) per line. */
export interface ServerForm {
  name: string;
  transport: "stdio" | "http";
  command: string;
  args: string;
  env: string;
  url: string;
  headers: string;
  approval: "auto" | "ask";
  enabled: boolean;
  allowedTools: string;
}

export const EMPTY_FORM: ServerForm = {
  name: "",
  transport: "stdio",
  command: "",
  args: "",
  env: "",
  url: "",
  headers: "",
  approval: "auto",
  enabled: true,
  allowedTools: "",
};

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

/** KEY=value (env) or Name: value (headers) lines to a map; the first separator splits. */
export function parsePairs(text: string, separator: "=" | ":"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines(text)) {
    const at = line.indexOf(separator);
    if (at <= 0) throw new Error(`"${line}" is not ${separator === "=" ? "KEY=value" : "Name: value"}`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

function pairsText(map: Record<string, string> | undefined, separator: "=" | ": "): string {
  return Object.entries(map ?? {})
    .map(([k, v]) => `${k}${separator}${v}`)
    .join("\n");
}

/** A listed server as the form edits it (secrets stay the redacted marker). */
export function formOf(server: McpServer): ServerForm {
  return {
    name: server.name,
    transport: server.transport,
    command: server.command ?? "",
    args: (server.args ?? []).join("\n"),
    env: pairsText(server.env, "="),
    url: server.url ?? "",
    headers: pairsText(server.headers, ": "),
    approval: server.approval ?? "auto",
    enabled: !server.disabled,
    allowedTools: (server.allowed_tools ?? []).join("\n"),
  };
}

/** The form as the API's configuration; throws on a malformed line. */
export function configOf(form: ServerForm): McpServerConfig {
  const allowed = lines(form.allowedTools);
  const common = {
    approval: form.approval,
    disabled: !form.enabled,
    allowedTools: allowed.length ? allowed : null,
  };
  if (form.transport === "stdio")
    return { ...common, command: form.command.trim(), args: lines(form.args), env: parsePairs(form.env, "=") };
  return { ...common, url: form.url.trim(), headers: parsePairs(form.headers, ":") };
}

// --- Tool calls in a chat ----------------------------------------------------------------

export type ToolStatus = "running" | "awaiting" | "ok" | "error" | "denied" | "timeout" | "cancelled";

/** One MCP tool call as a chat shows it: live from the stream, or from stored messages. */
export interface ToolCallView {
  id: string;
  server: string;
  tool: string;
  arguments: string;
  status: ToolStatus;
  result?: string;
  durationMs?: number;
  truncated?: boolean;
  /** Set while the call waits for the user's decision. */
  approvalId?: string;
}

type CallData = Schemas["ToolCallEventData"];
/** `approval_request`: a call plus the id its decision names. */
type ApprovalData = CallData & { approval_id: string };
type ResultData = Schemas["ToolResultEventData"];

/** The calls after one stream event (`tool_call`, `approval_request` or `tool_result`). */
export function applyToolEvent(calls: ToolCallView[], event: string, data: CallData | ApprovalData | ResultData): ToolCallView[] {
  if (event === "tool_call") {
    const d = data as CallData;
    if (calls.some((c) => c.id === d.id)) return calls; // replayed on a re-attach
    return [...calls, { id: d.id, server: d.server, tool: d.tool, arguments: d.arguments, status: "running" }];
  }
  return calls.map((c) => {
    if (c.id !== data.id) return c;
    if (event === "approval_request") {
      // A replay after the result must not ask again.
      return c.status === "running" ? { ...c, status: "awaiting", approvalId: (data as ApprovalData).approval_id } : c;
    }
    const d = data as ResultData;
    return { ...c, status: d.status, result: d.content, durationMs: d.duration_ms, truncated: d.truncated, approvalId: undefined };
  });
}

/** Stored messages as chat turns' content: each run of tool-calling assistant messages and
 * tool results folds into the answer that follows it (its `tools`). */
export function foldToolMessages(messages: StoredMessage[]): { message: StoredMessage; tools: ToolCallView[] }[] {
  const out: { message: StoredMessage; tools: ToolCallView[] }[] = [];
  let pending: ToolCallView[] = [];
  for (const m of messages) {
    if (m.role === "assistant" && m.tool_calls?.length) {
      for (const c of m.tool_calls) pending.push({ id: c.id, server: c.server, tool: c.tool, arguments: c.arguments, status: "cancelled" });
      continue;
    }
    if (m.role === "tool") {
      const r = m.tool_result;
      pending = pending.map((c) =>
        c.id === m.tool_call_id
          ? { ...c, status: r?.status ?? "ok", result: m.content, durationMs: r?.duration_ms, truncated: r?.truncated ?? false }
          : c,
      );
      continue;
    }
    out.push({ message: m, tools: m.role === "assistant" ? pending : [] });
    if (m.role === "assistant") pending = [];
  }
  return out;
}
