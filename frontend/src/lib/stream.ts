import { toApiError } from "@/lib/errors";
import { apiUrl, authHeaders } from "@/lib/settings";

/** One server-sent event: its name ("message" when unnamed) and its data lines joined. */
export interface SSEEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Incremental parser for the text/event-stream format: feed it chunks as they arrive and it
 * returns the events completed so far. Handles \n, \r\n and \r line ends, multi-line data,
 * comments (": ping") and chunks split anywhere (even inside a line end).
 */
export class SSEParser {
  private buffer = "";
  private data: string[] = [];
  private eventName = "";
  private lastId: string | undefined;

  feed(chunk: string): SSEEvent[] {
    this.buffer += chunk;
    const out: SSEEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** Call at end of stream: dispatches a last event not followed by a blank line. */
  flush(): SSEEvent[] {
    const out: SSEEvent[] = [];
    if (this.buffer) {
      const ev = this.line(this.buffer);
      this.buffer = "";
      if (ev) out.push(ev);
    }
    const ev = this.line("");
    if (ev) out.push(ev);
    return out;
  }

  private line(line: string): SSEEvent | null {
    if (line === "") {
      if (this.data.length === 0) {
        this.eventName = "";
        return null;
      }
      const ev: SSEEvent = { event: this.eventName || "message", data: this.data.join("\n") };
      if (this.lastId !== undefined) ev.id = this.lastId;
      this.data = [];
      this.eventName = "";
      return ev;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.eventName = value;
    else if (field === "id") this.lastId = value;
    return null;
  }
}

/** Reads SSE events from a fetch Response body. */
export async function* readSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<SSEEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
    yield* parser.feed(decoder.decode());
    yield* parser.flush();
  } finally {
    reader.releaseLock();
  }
}

export interface StreamOptions {
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  body?: unknown;
  form?: FormData;
  method?: string;
}

/**
 * POSTs (or GETs) to an SSE endpoint and yields its events. A non-2xx answer throws the server's
 * error as an ApiError; aborting the signal closes the connection, which stops the generation on
 * the server.
 */
export async function* streamEvents(path: string, opts: StreamOptions = {}): AsyncGenerator<SSEEvent> {
  const doFetch = opts.fetchImpl ?? fetch;
  const headers: Record<string, string> = {
    Accept: "text/event-stream",
    // Marks the request as the UI's (the server's CSRF check; uploads have no JSON type).
    "X-Requested-With": "playground",
    ...authHeaders(),
  };
  let body: BodyInit | undefined;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await doFetch(apiUrl(path), {
    method: opts.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    signal: opts.signal,
  });
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => "");
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    throw toApiError(parsed, res.status);
  }
  yield* readSSE(res.body);
}

/** Parses an event's JSON data. */
export function eventJson<T>(ev: SSEEvent): T {
  return JSON.parse(ev.data) as T;
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException ? err.name === "AbortError" : (err as Error)?.name === "AbortError";
}
