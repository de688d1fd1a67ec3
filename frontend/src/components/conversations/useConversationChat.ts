import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";

import { conversationStore, patchConversation, updateLastAssistant, type ResponseStats, type Turn } from "@/lib/conversation";
import {
  createConversation,
  fetchConversation,
  streamAnswer,
  toTurn,
  type AnswerAction,
  type AnswerBody,
} from "@/lib/conversations";
import { ApiError } from "@/lib/errors";
import { isAbort } from "@/lib/stream";
import { throttleLatest } from "@/lib/throttle";

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

function stoppedStats(model: string, tokens: number): ResponseStats {
  return {
    ttft_ms: null,
    tokens_per_second: null,
    completion_tokens: tokens,
    prompt_tokens: null,
    total_ms: null,
    backend: null,
    finish_reason: "stopped",
    model,
  };
}

/**
 * Chat on a stored conversation: restores the current one from the server on mount, and
 * sends, regenerates and edits through the conversations API (the server stores every
 * message; the page's store only mirrors the one shown).
 */
export function useConversationChat() {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [liveTokens, setLiveTokens] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const abortRef = useRef<AbortController | null>(null);

  async function open(id: string) {
    setError(null);
    try {
      const c = await fetchConversation(id);
      patchConversation({
        conversationId: c.id,
        turns: c.messages.map(toTurn),
        system: c.system ?? "",
        ...(c.model ? { model: c.model } : {}),
        backend: c.backend ?? "",
      });
    } catch (err) {
      // Deleted elsewhere (or a fresh server): start a new one instead of showing stale turns.
      if (err instanceof ApiError && err.status === 404) patchConversation({ conversationId: "", turns: [] });
      else setError(err);
    }
  }

  function startNew() {
    setError(null);
    patchConversation({ conversationId: "", turns: [] });
  }

  useEffect(() => {
    const id = conversationStore.get().conversationId;
    if (id) void open(id);
    return () => abortRef.current?.abort();
  }, []);

  async function answer(action: AnswerAction, params: Params) {
    const c = conversationStore.get();
    if (!c.model || busy) return;
    const controller = new AbortController();
    abortRef.current = controller;
    setBusy(true);
    setError(null);
    setLiveTokens(0);
    let tokens = 0;
    let latest = "";
    const view = throttleLatest((t: string) => {
      setLiveTokens(tokens);
      updateLastAssistant(t);
    });
    try {
      let id = c.conversationId;
      if (!id) {
        id = (await createConversation({ model: c.model, backend: c.backend || undefined, system: c.system || undefined })).id;
        patchConversation({ conversationId: id });
      }
      patchConversation({ turns: pendingTurns(conversationStore.get().turns, action) });
      const saved = await streamAnswer(
        id,
        action,
        { model: c.model, backend: c.backend || undefined, system: c.system, ...params },
        {
          onUser: (m) =>
            conversationStore.set((s) => {
              const turns = [...s.turns];
              turns[turns.length - 2] = toTurn(m);
              return { ...s, turns };
            }),
          onText: (t, n) => {
            latest = t;
            tokens = n;
            view.call(t);
          },
        },
        controller.signal,
      );
      view.cancel();
      updateLastAssistant(saved.content, toTurn(saved));
    } catch (err) {
      view.cancel();
      if (isAbort(err)) updateLastAssistant(latest, { stats: stoppedStats(c.model, tokens) });
      else {
        setError(err);
        updateLastAssistant(latest, { error: String((err as Error).message ?? err) });
      }
    } finally {
      abortRef.current = null;
      setBusy(false);
      void queryClient.invalidateQueries({ queryKey: CONVERSATIONS_KEY });
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
    }
  }

  return {
    busy,
    liveTokens,
    error,
    open,
    startNew,
    send: (content: string, params: Params) => answer({ kind: "send", content }, params),
    regenerate: (params: Params) => answer({ kind: "regenerate" }, params),
    edit: (messageId: string, content: string, params: Params) => answer({ kind: "edit", messageId, content }, params),
    stop: () => abortRef.current?.abort(),
  };
}
