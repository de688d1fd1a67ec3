import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";

import { conversationStore, patchConversation, updateLastAssistant, type Turn } from "@/lib/conversation";
import {
  attachAnswer,
  cancelAnswer,
  createConversation,
  fetchConversation,
  streamAnswer,
  toTurn,
  type AnswerAction,
  type AnswerBody,
  type AnswerEnd,
  type AnswerHandlers,
} from "@/lib/conversations";
import { ApiError } from "@/lib/errors";
import { StreamGone, isAbort } from "@/lib/stream";
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
  const [busy, setBusy] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [liveTokens, setLiveTokens] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const streamRef = useRef<{ id: string; controller: AbortController } | null>(null);

  /** Follows one answer's stream into the last assistant turn. */
  async function follow(id: string, go: (handlers: AnswerHandlers, signal: AbortSignal) => Promise<AnswerEnd | null>) {
    const controller = new AbortController();
    streamRef.current = { id, controller };
    setBusy(true);
    setStopping(false);
    setError(null);
    setLiveTokens(0);
    let tokens = 0;
    let latest = "";
    const view = throttleLatest((t: string) => {
      setLiveTokens(tokens);
      updateLastAssistant(t);
    });
    try {
      const end = await go(
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
      if (end?.kind === "done") updateLastAssistant(end.message.content, toTurn(end.message));
      else if (conversationStore.get().conversationId === id) await open(id); // stopped before any text, or already over
    } catch (err) {
      view.cancel();
      if (isAbort(err)) return; // left the page: the server goes on, and a return re-attaches
      if (err instanceof StreamGone) await open(id);
      else {
        setError(err);
        updateLastAssistant(latest, { error: String((err as Error).message ?? err) });
      }
    } finally {
      if (streamRef.current?.controller === controller) streamRef.current = null;
      setBusy(false);
      setStopping(false);
      void queryClient.invalidateQueries({ queryKey: CONVERSATIONS_KEY });
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
    }
  }

  async function open(id: string) {
    setError(null);
    try {
      const c = await fetchConversation(id);
      patchConversation({
        conversationId: c.id,
        turns: c.generating ? attachTurns(c.messages.map(toTurn)) : c.messages.map(toTurn),
        system: c.system ?? "",
        ...(c.model ? { model: c.model } : {}),
        backend: c.backend ?? "",
      });
      // An answer still being written (a reload, another tab): show it as it goes on.
      if (c.generating && !streamRef.current) void follow(c.id, (h, signal) => attachAnswer(c.id, h, signal));
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
    return () => streamRef.current?.controller.abort();
    // Once, on mount: the page's conversation is restored (and re-attached) a single time.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  async function answer(action: AnswerAction, params: Params) {
    const c = conversationStore.get();
    if (!c.model || busy) return;
    setError(null);
    let id = c.conversationId;
    try {
      if (!id) {
        id = (await createConversation({ model: c.model, backend: c.backend || undefined, system: c.system || undefined })).id;
        patchConversation({ conversationId: id });
      }
    } catch (err) {
      setError(err);
      return;
    }
    patchConversation({ turns: pendingTurns(conversationStore.get().turns, action) });
    const body = { model: c.model, backend: c.backend || undefined, system: c.system, ...params };
    await follow(id, (h, signal) => streamAnswer(id, action, body, h, signal));
  }

  /** Stop: the server cancels the answer and stores what was sent; the stream then ends with it. */
  async function stop() {
    const current = streamRef.current;
    if (!current) return;
    setStopping(true);
    try {
      await cancelAnswer(current.id);
    } catch (err) {
      setStopping(false);
      setError(err);
    }
  }

  return {
    busy,
    stopping,
    liveTokens,
    error,
    open,
    startNew,
    send: (content: string, params: Params) => answer({ kind: "send", content }, params),
    regenerate: (params: Params) => answer({ kind: "regenerate" }, params),
    edit: (messageId: string, content: string, params: Params) => answer({ kind: "edit", messageId, content }, params),
    stop,
  };
}
