import { client, type Schemas } from "@/lib/api";
import type { ResponseStats, Turn } from "@/lib/conversation";
import { downloadFromApi } from "@/lib/download";
import { toApiError } from "@/lib/errors";
import { applyToolEvent, foldToolMessages, type ToolCallView } from "@/lib/mcp";
import { StreamGone, eventJson, resumeEvents, streamEvents, type SSEEvent } from "@/lib/stream";

export type StoredConversation = Schemas["Conversation"];
export type StoredMessage = Schemas["ConversationMessage"];
export type ConversationSummary = Schemas["ConversationSummary"];
export type AnswerBody = Schemas["ConversationAnswer"];

/** The figures of a stored answer in the shape the Figures component shows. */
export function statsOf(m: StoredMessage): ResponseStats | undefined {
  if (m.role !== "assistant") return undefined;
  return {
    ttft_ms: m.figures?.ttft_ms ?? null,
    tokens_per_second: m.figures?.tokens_per_second ?? null,
    completion_tokens: m.figures?.completion_tokens ?? null,
    prompt_tokens: m.figures?.prompt_tokens ?? null,
    total_ms: m.figures?.total_ms ?? null,
    backend: m.backend ?? null,
    // The UI has always called a client stop "stopped".
    finish_reason: m.finish_reason === "cancelled" ? "stopped" : (m.finish_reason ?? "stop"),
    model: m.model ?? "",
  };
}

export function toTurn(m: StoredMessage): Turn {
  return { id: m.id, role: m.role === "user" ? "user" : "assistant", content: m.content, stats: statsOf(m) };
}

/** Stored messages as turns: MCP tool calls and results fold into the answer after them. */
export function toTurns(messages: StoredMessage[]): Turn[] {
  return foldToolMessages(messages).map(({ message, tools }) => (tools.length ? { ...toTurn(message), tools } : toTurn(message)));
}

function unwrap<T>(res: { data?: T; error?: unknown; response: Response }): T {
  if (res.error !== undefined || res.data === undefined) throw toApiError(res.error, res.response.status);
  return res.data;
}

export async function createConversation(body: Schemas["ConversationCreate"]): Promise<StoredConversation> {
  return unwrap(await client.POST("/api/v1/conversations", { body }));
}

export async function fetchConversation(id: string): Promise<StoredConversation> {
  return unwrap(await client.GET("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } }));
}

export async function updateConversation(id: string, body: Schemas["ConversationUpdate"]): Promise<StoredConversation> {
  return unwrap(
    await client.PATCH("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } }, body }),
  );
}

export async function deleteConversation(id: string): Promise<void> {
  const res = await client.DELETE("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } });
  if (!res.response.ok) throw toApiError(res.error, res.response.status);
}

/** Downloads the export as a file (fetched with the API key, then saved through a link). */
export async function downloadExport(id: string, format: "markdown" | "json"): Promise<void> {
  await downloadFromApi(
    `/api/v1/conversations/${encodeURIComponent(id)}/export?format=${format}`,
    `conversation.${format === "json" ? "json" : "md"}`,
  );
}

export interface AnswerHandlers {
  /** The stored user message, when the request added one (send, edit). */
  onUser?: (m: StoredMessage) => void;
  onText: (text: string, tokens: number) => void;
  /** The answer's MCP tool calls so far, after each tool event. */
  onTools?: (calls: ToolCallView[]) => void;
}

export type AnswerAction =
  | { kind: "send"; content: string }
  | { kind: "regenerate" }
  | { kind: "edit"; messageId: string; content: string };

function actionRequest(id: string, action: AnswerAction): { path: string; method: string; extra: object } {
  const base = `/api/v1/conversations/${encodeURIComponent(id)}`;
  if (action.kind === "send") return { path: `${base}/messages`, method: "POST", extra: { content: action.content } };
  if (action.kind === "regenerate") return { path: `${base}/regenerate`, method: "POST", extra: {} };
  return { path: `${base}/messages/${encodeURIComponent(action.messageId)}`, method: "PUT", extra: { content: action.content } };
}

/** How an answer's stream ended: the stored message, or stopped before its first token
 * (nothing stored). */
export type AnswerEnd = { kind: "done"; message: StoredMessage } | { kind: "stopped" };

const isLastEvent = (ev: SSEEvent) => ev.event === "done" || ev.event === "error" || ev.event === "stopped";

async function readAnswer(events: AsyncIterable<SSEEvent>, handlers: AnswerHandlers): Promise<AnswerEnd> {
  let text = "";
  let tokens = 0;
  let calls: ToolCallView[] = [];
  for await (const ev of events) {
    if (ev.event === "message") handlers.onUser?.(eventJson<StoredMessage>(ev));
    else if (ev.event === "tool_call" || ev.event === "approval_request" || ev.event === "tool_result") {
      calls = applyToolEvent(calls, ev.event, eventJson(ev));
      handlers.onTools?.(calls);
    }
    else if (ev.event === "token") {
      text += eventJson<{ text: string }>(ev).text;
      tokens += 1;
      handlers.onText(text, tokens);
    } else if (ev.event === "done") return { kind: "done", message: eventJson<StoredMessage>(ev) };
    else if (ev.event === "stopped") return { kind: "stopped" };
    else if (ev.event === "error") throw toApiError(eventJson(ev));
  }
  throw toApiError("The stream ended before the answer was complete.");
}

const streamPath = (id: string) => `/api/v1/conversations/${encodeURIComponent(id)}/stream`;

/**
 * Streams an answer of a stored conversation (send, regenerate or edit-and-resend) and returns
 * how it ended (the `done` event carries the stored assistant message). The answer is written
 * by the server whatever happens to the connection: a dropped one is resumed from the last
 * event received (`Last-Event-ID`), and aborting `signal` only stops listening. To stop the
 * answer, call `cancelAnswer`; the stream then ends with what was stored. Throws the server's
 * error, or StreamGone when the stream was lost for good.
 */
export async function streamAnswer(
  conversationId: string,
  action: AnswerAction,
  body: Omit<AnswerBody, "stream">,
  handlers: AnswerHandlers,
  signal?: AbortSignal,
): Promise<AnswerEnd> {
  const { path, method, extra } = actionRequest(conversationId, action);
  const events = resumeEvents(
    (attempt, lastEventId) =>
      attempt === 0
        ? streamEvents(path, { body: { ...body, ...extra, stream: true }, method, signal })
        : streamEvents(streamPath(conversationId), { signal, lastEventId: lastEventId ?? undefined }),
    isLastEvent,
    { signal },
  );
  return readAnswer(events, handlers);
}

/** Attaches to the answer the server is writing for a conversation (after a reload): all its
 * events from the start, then live. Null when no answer is being written. */
export async function attachAnswer(
  conversationId: string,
  handlers: AnswerHandlers,
  signal?: AbortSignal,
): Promise<AnswerEnd | null> {
  let any = false;
  const events = resumeEvents(
    (_, lastEventId) => streamEvents(streamPath(conversationId), { signal, lastEventId: lastEventId ?? undefined }),
    isLastEvent,
    { signal },
  );
  async function* seen() {
    for await (const ev of events) {
      any = true;
      yield ev;
    }
  }
  try {
    return await readAnswer(seen(), handlers);
  } catch (err) {
    if (!any && err instanceof StreamGone) return null; // 204: nothing running
    throw err;
  }
}

/** Stops the answer being written (Stop); resolves once the server has stored it. */
export async function cancelAnswer(conversationId: string): Promise<void> {
  const res = await client.POST("/api/v1/conversations/{conversation_id}/cancel", {
    params: { path: { conversation_id: conversationId } },
  });
  if (!res.response.ok) throw toApiError(res.error, res.response.status);
}
