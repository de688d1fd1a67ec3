import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";

import { useStreamingRun } from "@/hooks/useStreamingRun";
import { conversationStore, patchConversation, updateLastAssistant, updateLastTools, type Conversation, type Turn } from "@/lib/conversation";
import {
  attachAnswer,
  cancelAnswer,
  createConversation,
  fetchConversation,
  streamAnswer,
  toTurn,
  toTurns,
  type AnswerAction,
  type AnswerBody,
  type AnswerEnd,
  type AnswerHandlers,
} from "@/lib/conversations";
import { ApiError } from "@/lib/errors";
import { StreamGone } from "@/lib/stream";

type Params = Omit<AnswerBody, "stream" | "model" | "backend" | "system">;

export const CONVERSATIONS_KEY = ["get", "/api/v1/conversations"];

/** The turns shown while an answer streams: what the server will have once it is saved. */
export function pendingTurns(turns: Turn[], action: AnswerAction): Turn[] {
  if (action.kind === "send") return [...turns, { role: "user", content: action.content }, { role: "assistant", content: "" }];
  if (action.kind === "regenerate") {
    const lastUser = turns.map((t) => t.role).lastIndexOf("user");
    return [...turns.slice(0, lastUser + 1), { role: "assistant", content: "" }];
  }
  const index = turns.findIndex((t) => t.id === action.messageId);
  return [...turns.slice(0, index), { id: action.messageId, role: "user", content: action.content }, { role: "assistant", content: "" }];
}

/** The MCP part of an answer's request: the chosen servers and, unless automatic, the tool
 * choice (nothing when no server is chosen: a plain answer). */
export function mcpBody(c: Pick<Conversation, "mcpServers" | "mcpToolChoice">): Pick<AnswerBody, "mcp_servers" | "tool_choice"> {
  if (!c.mcpServers.length) return {};
  return { mcp_servers: c.mcpServers, ...(c.mcpToolChoice && c.mcpToolChoice !== "auto" ? { tool_choice: c.mcpToolChoice } : {}) };
}

/** The turns shown while re-attaching to an answer the server is writing: a regenerate leaves
 * the old answer stored until the new one is saved, so a trailing answer is the one replaced. */
export function attachTurns(turns: Turn[]): Turn[] {
  const kept = turns[turns.length - 1]?.role === "assistant" ? turns.slice(0, -1) : turns;
  return [...kept, { role: "assistant", content: "" }];
}

/**
 * Chat on a stored conversation: restores the current one from the server on mount (and
 * re-attaches to an answer it is still writing), and sends, regenerates and edits through the
 * conversations API (the server stores every message; the page's store only mirrors the one
 * shown). Stop cancels the answer on the server; leaving the page only stops listening.
 */
export function useConversationChat() {
  const queryClient = useQueryClient();
  const stream = useStreamingRun<string>((t) => updateLastAssistant(t));
  const [stopping, setStopping] = useState(false);
  // The conversation whose answer is being followed: Stop cancels it on the server.
  const following = useRef<string | null>(null);

  /** Follows one answer's stream into the last assistant turn. */
  async function follow(id: string, go: (handlers: AnswerHandlers, signal: AbortSignal) => Promise<AnswerEnd | null>) {
    following.current = id;
    setStopping(false);
    let latest = "";
    await stream.start(
      async ({ signal, update }) => {
        try {
          return await go(
            {
              onUser: (m) =>
                conversationStore.set((s) => {
                  const turns = [...s.turns];
                  turns[turns.length - 2] = toTurn(m);
                  return { ...s, turns };
                }),
              onText: (t, n) => {
                latest = t;
                update(t, n);
              },
              // Not throttled: few, and an approval must show at once.
              onTools: updateLastTools,
            },
            signal,
          );
        } catch (err) {
          if (err instanceof StreamGone) return "gone" as const;
          throw err;
        }
      },
      async (end) => {
        // Stopped means the page went away: the server goes on, and a return re-attaches.
        if (end.status === "done") {
          const answer = end.value;
          if (answer !== "gone" && answer?.kind === "done") updateLastAssistant(answer.message.content, toTurn(answer.message));
          // Stopped before any text, already over, or the stream is gone: read what was stored.
          else if (answer === "gone" || conversationStore.get().conversationId === id) await open(id);
        } else if (end.status === "failed") {
          updateLastAssistant(latest, { error: String((end.error as Error).message ?? end.error) });
        }
        if (following.current === id) following.current = null;
        setStopping(false);
        void queryClient.invalidateQueries({ queryKey: CONVERSATIONS_KEY });
        void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
      },
    );
  }

  async function open(id: string) {
    stream.setError(null);
    try {
      const c = await fetchConversation(id);
      patchConversation({
        conversationId: c.id,
        turns: c.generating ? attachTurns(toTurns(c.messages)) : toTurns(c.messages),
        system: c.system ?? "",
        ...(c.model ? { model: c.model } : {}),
        backend: c.backend ?? "",
      });
      // An answer still being written (a reload, another tab): show it as it goes on.
      if (c.generating && !following.current) void follow(c.id, (h, signal) => attachAnswer(c.id, h, signal));
    } catch (err) {
      // Deleted elsewhere (or a fresh server): start a new one instead of showing stale turns.
      if (err instanceof ApiError && err.status === 404) patchConversation({ conversationId: "", turns: [] });
      else stream.setError(err);
    }
  }

  function startNew() {
    stream.setError(null);
    patchConversation({ conversationId: "", turns: [] });
  }

  useEffect(() => {
    const id = conversationStore.get().conversationId;
    if (id) void open(id);
    // Once, on mount: the page's conversation is restored (and re-attached) a single time.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  async function answer(action: AnswerAction, params: Params) {
    const c = conversationStore.get();
    if (!c.model || stream.busy) return;
    stream.setError(null);
    let id = c.conversationId;
    try {
      if (!id) {
        id = (await createConversation({ model: c.model, backend: c.backend || undefined, system: c.system || undefined })).id;
        patchConversation({ conversationId: id });
      }
    } catch (err) {
      stream.setError(err);
      return;
    }
    patchConversation({ turns: pendingTurns(conversationStore.get().turns, action) });
    const body = { model: c.model, backend: c.backend || undefined, system: c.system, ...params, ...mcpBody(c) };
    await follow(id, (h, signal) => streamAnswer(id, action, body, h, signal));
  }

  /** Stop: the server cancels the answer and stores what was sent; the stream then ends with it. */
  async function stop() {
    const id = following.current;
    if (!id) return;
    setStopping(true);
    try {
      await cancelAnswer(id);
    } catch (err) {
      setStopping(false);
      stream.setError(err);
    }
  }

  return {
    busy: stream.busy,
    stopping,
    liveTokens: stream.tokens,
    error: stream.error,
    open,
    startNew,
    send: (content: string, params: Params) => answer({ kind: "send", content }, params),
    regenerate: (params: Params) => answer({ kind: "regenerate" }, params),
    edit: (messageId: string, content: string, params: Params) => answer({ kind: "edit", messageId, content }, params),
    stop,
  };
}
