import { ApiError, toApiError } from "@/lib/errors";
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
  method?: string;
  /** The id of the last event received: the server resumes after it. */
  lastEventId?: string;
}

/**
 * POSTs (or GETs) to an SSE endpoint and yields its events. A non-2xx answer throws the server's
 * error as an ApiError; 204 (nothing to stream) yields nothing. Aborting the signal closes the
 * connection: the one-shot streams (generate, compare, /v1) stop on the server; a conversation
 * answer goes on until it is cancelled (see `resumeEvents`).
 */
export async function* streamEvents(path: string, opts: StreamOptions = {}): AsyncGenerator<SSEEvent> {
  const doFetch = opts.fetchImpl ?? fetch;
  const headers: Record<string, string> = {
    Accept: "text/event-stream",
    // Marks the request as the UI's (the server's CSRF check; uploads have no JSON type).
    "X-Requested-With": "playground",
    ...authHeaders(),
  };
  if (opts.lastEventId !== undefined) headers["Last-Event-ID"] = opts.lastEventId;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await doFetch(apiUrl(path), {
    method: opts.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    signal: opts.signal,
  });
  if (res.status === 204) return;
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

/** The stream ended before its last event and the server no longer has it to resume. */
export class StreamGone extends Error {
  constructor() {
    super("The answer's stream was lost and the server no longer has it; reload the conversation.");
    this.name = "StreamGone";
  }
}

export interface ResumeOptions {
  /** Reconnections in a row without receiving an event before giving up (default 6). */
  retries?: number;
  /** Wait before reconnection `n` (0-based), in ms. */
  delayMs?: (n: number) => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    });
  });
}

/**
 * Follows a resumable SSE stream to its last event across dropped connections: `open(0, null)`
 * opens it, and after a connection fails or ends early `open(n, lastEventId)` reconnects (with
 * `Last-Event-ID`, after a growing pause), so the events yielded are each event once, in order.
 * An abort or an HTTP error (ApiError) ends it at once, as does a first request that fails before
 * any event (the server may never have seen it); a request that gets nothing (204: the server has
 * no such stream, or no longer) throws StreamGone, as does running out of retries.
 */
export async function* resumeEvents(
  open: (attempt: number, lastEventId: string | null) => AsyncIterable<SSEEvent>,
  isLast: (ev: SSEEvent) => boolean,
  opts: ResumeOptions = {},
): AsyncGenerator<SSEEvent> {
  const retries = opts.retries ?? 6;
  const delayMs = opts.delayMs ?? ((n: number) => Math.min(250 * 2 ** n, 4000));
  const sleep = opts.sleep ?? sleepFor;
  let lastId: string | null = null;
  let attempt = 0;
  let failures = 0;
  let anyEvent = false;
  for (;;) {
    let received = false;
    try {
      for await (const ev of open(attempt, lastId)) {
        received = anyEvent = true;
        failures = 0;
        if (ev.id !== undefined) lastId = ev.id;
        yield ev;
        if (isLast(ev)) return;
      }
      // Ended cleanly before the last event: a reconnection that got nothing means it is gone.
      if (!received) throw new StreamGone();
    } catch (err) {
      if (isAbort(err) || err instanceof ApiError || err instanceof StreamGone) throw err;
      if (!anyEvent && attempt === 0) throw toApiError(err);
      // Anything else is the connection (fetch's TypeError, a reset while reading): retry.
    }
    attempt += 1;
    if (failures >= retries) throw new StreamGone();
    await sleep(delayMs(failures), opts.signal);
    failures += 1;
  }
}
