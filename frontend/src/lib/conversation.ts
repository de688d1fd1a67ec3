import { createPersistentStore, useStore } from "@/lib/store";
import type { Schemas } from "@/lib/api";
import type { ToolCallView } from "@/lib/mcp";

export type Role = "user" | "assistant";

/** Figures of one finished (or stopped) response. */
export interface ResponseStats {
  ttft_ms: number | null;
  tokens_per_second: number | null;
  completion_tokens: number | null;
  prompt_tokens: number | null;
  total_ms: number | null;
  backend: string | null;
  finish_reason: string;
  model: string;
}

export interface Turn {
  /** Id of the stored message (server-side conversations); absent until the server sent it. */
  id?: string;
  role: Role;
  content: string;
  stats?: ResponseStats;
  error?: string;
  /** An answer's MCP tool calls, in the order they ran (before its text). */
  tools?: ToolCallView[];
}

export interface Conversation {
  mode: "chat" | "completion";
  /** The stored conversation shown in chat mode ("" = a new one, created on first send). */
  conversationId: string;
  model: string;
  /** Backend to run on; empty means the server's choice (auto). */
  backend: string;
  system: string;
  turns: Turn[];
  /** MCP servers whose tools chat answers may call (none: a plain chat). */
  mcpServers: string[];
  /** How the first round uses them: "auto", "required", or one tool's name. */
  mcpToolChoice: string;
  prompt: string;
  completion: string;
  completionStats?: ResponseStats;
}

export const EMPTY_CONVERSATION: Conversation = {
  mode: "chat",
  conversationId: "",
  model: "",
  backend: "",
  system: "",
  turns: [],
  mcpServers: [],
  mcpToolChoice: "auto",
  prompt: "",
  completion: "",
};

export function reviveConversation(raw: unknown): Conversation {
  const r = (raw && typeof raw === "object" ? raw : {}) as Partial<Conversation>;
  return {
    mode: r.mode === "completion" ? "completion" : "chat",
    conversationId: typeof r.conversationId === "string" ? r.conversationId : "",
    model: typeof r.model === "string" ? r.model : "",
    backend: typeof r.backend === "string" ? r.backend : "",
    system: typeof r.system === "string" ? r.system : "",
    turns: Array.isArray(r.turns)
      ? r.turns.filter(
          (t): t is Turn => !!t && (t.role === "user" || t.role === "assistant") && typeof t.content === "string",
        )
      : [],
    mcpServers: Array.isArray(r.mcpServers) ? r.mcpServers.filter((s): s is string => typeof s === "string") : [],
    mcpToolChoice: typeof r.mcpToolChoice === "string" && r.mcpToolChoice ? r.mcpToolChoice : "auto",
    prompt: typeof r.prompt === "string" ? r.prompt : "",
    completion: typeof r.completion === "string" ? r.completion : "",
    completionStats: r.completionStats,
  };
}

export const conversationStore = createPersistentStore<Conversation>(
  "mp.conversation",
  EMPTY_CONVERSATION,
  reviveConversation,
);

export function useConversation(): Conversation {
  return useStore(conversationStore);
}

export function patchConversation(patch: Partial<Conversation>) {
  conversationStore.set((c) => ({ ...c, ...patch }));
}

/** Sets the MCP tool calls of the last assistant turn (the answer being written). */
export function updateLastTools(tools: ToolCallView[]) {
  conversationStore.set((c) => {
    const turns = [...c.turns];
    const last = turns[turns.length - 1];
    if (last?.role === "assistant") turns[turns.length - 1] = { ...last, tools };
    return { ...c, turns };
  });
}

/** Sets the text (and optionally stats) of the last assistant turn. */
export function updateLastAssistant(content: string, extra: Partial<Turn> = {}) {
  conversationStore.set((c) => {
    const turns = [...c.turns];
    const last = turns[turns.length - 1];
    if (last?.role === "assistant") turns[turns.length - 1] = { ...last, content, ...extra };
    return { ...c, turns };
  });
}

export function clearConversation() {
  conversationStore.set((c) => ({ ...c, turns: [], completion: "", completionStats: undefined }));
}

export function statsFrom(res: Schemas["GenerateResponse"]): ResponseStats {
  return {
    ttft_ms: res.timings.ttft_ms ?? null,
    tokens_per_second: res.timings.tokens_per_second ?? null,
    completion_tokens: res.usage.completion_tokens,
    prompt_tokens: res.usage.prompt_tokens,
    total_ms: res.timings.total_ms,
    backend: res.timings.backend,
    finish_reason: res.finish_reason,
    model: res.model,
  };
}
