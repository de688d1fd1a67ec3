import { beforeEach, describe, expect, it } from "vitest";
import { startSession } from "@/lib/session";

import { ApiError } from "@/lib/errors";
import { SSEParser, StreamGone, isAbort, readSSE, resumeEvents, streamEvents, type SSEEvent } from "@/lib/stream";
import { settingsStore, DEFAULT_SETTINGS } from "@/lib/settings";

function bodyOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c));
      controller.close();
    },
  });
}

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe("SSEParser", () => {
  it("parses named events with JSON data", () => {
    const p = new SSEParser();
    const events = p.feed('event: token\ndata: {"text":"Hi"}\n\nevent: done\ndata: {}\n\n');
    expect(events).toEqual([
      { event: "token", data: '{"text":"Hi"}' },
      { event: "done", data: "{}" },
    ]);
  });

  it("defaults the name to message, joins multi-line data, skips comments", () => {
    const p = new SSEParser();
    expect(p.feed(": ping\n\ndata: a\ndata: b\n\n")).toEqual([{ event: "message", data: "a\nb" }]);
  });

  it("handles CRLF and events split across chunks, even inside a line end", () => {
    const p = new SSEParser();
    expect(p.feed("event: tok")).toEqual([]);
    expect(p.feed("en\r")).toEqual([]);
    expect(p.feed("\ndata: x\r\n\r")).toEqual([]);
    expect(p.feed("\n")).toEqual([{ event: "token", data: "x" }]);
  });

  it("keeps a space after the first in data and records ids", () => {
    const p = new SSEParser();
    expect(p.feed("id: 7\ndata:  two spaces\n\n")).toEqual([{ event: "message", data: " two spaces", id: "7" }]);
  });

  it("flush dispatches a last event without a blank line", () => {
    const p = new SSEParser();
    expect(p.feed("event: end\ndata: {}")).toEqual([]);
    expect(p.flush()).toEqual([{ event: "end", data: "{}" }]);
  });

  it("readSSE decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode('data: {"text":"é"}\n\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte "é"
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, cut));
        c.enqueue(bytes.slice(cut));
        c.close();
      },
    });
    expect(await collect(readSSE(body))).toEqual([{ event: "message", data: '{"text":"é"}' }]);
  });
});

describe("streamEvents", () => {
  beforeEach(() => {
    settingsStore.set({ ...DEFAULT_SETTINGS, apiBase: "http://api.test" });
    startSession("k1", Date.now() / 1000 + 600, "test", false);
  });

  it("POSTs JSON with the API key and yields events", async () => {
    let seen: { url: string; init: RequestInit } | null = null;
    const fetchImpl = (async (url: string, init: RequestInit) => {
      seen = { url, init };
      return new Response(bodyOf(["event: token\ndata: {\"text\":\"a\"}\n\n", "event: done\ndata: {}\n\n"]), {
        headers: { "Content-Type": "text/event-stream" },
      });
    }) as unknown as typeof fetch;
    const events = await collect(streamEvents("/api/v1/x", { body: { a: 1 }, fetchImpl }));
    expect(events.map((e) => e.event)).toEqual(["token", "done"]);
    expect(seen!.url).toBe("http://api.test/api/v1/x");
    expect(seen!.init.method).toBe("POST");
    expect((seen!.init.headers as Record<string, string>).Authorization).toBe("Bearer k1");
    expect(seen!.init.body).toBe('{"a":1}');
  });

  it("turns an error envelope into an ApiError with the server's message", async () => {
    const fetchImpl = (async () =>
      new Response(JSON.stringify({ error: { message: "The model 'x' does not exist.", type: "not_found_error", param: "model", code: "model_not_found" } }), {
        status: 404,
      })) as unknown as typeof fetch;
    const err = await collect(streamEvents("/api/v1/x", { body: {}, fetchImpl })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe("The model 'x' does not exist.");
    expect((err as ApiError).status).toBe(404);
    expect((err as ApiError).code).toBe("model_not_found");
  });

  it("stops reading when aborted", async () => {
    const controller = new AbortController();
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode("event: token\ndata: {}\n\n"));
          init.signal!.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
        },
      });
      return new Response(body);
    }) as unknown as typeof fetch;
    const seen: string[] = [];
    const err = await (async () => {
      for await (const ev of streamEvents("/s", { body: {}, fetchImpl, signal: controller.signal })) {
        seen.push(ev.event);
        controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["token"]);
    expect(isAbort(err)).toBe(true);
  });
});

describe("resumeEvents", () => {
  const ev = (event: string, id?: string): SSEEvent => ({ event, data: "{}", ...(id ? { id } : {}) });
  const isLast = (e: SSEEvent) => e.event === "done";
  const noWait = { sleep: async () => {} };
  async function* events(list: SSEEvent[], fail?: Error) {
    yield* list;
    if (fail) throw fail;
  }

  it("reconnects after a drop with the last id and yields each event once", async () => {
    const calls: [number, string | null][] = [];
    const conns = [
      () => events([ev("message", "0"), ev("token", "4")], new TypeError("network error")),
      () => events([], new TypeError("Failed to fetch")), // the server unreachable for a moment
      () => events([ev("token", "9")]), // ended early, without the last event
      () => events([ev("token", "12"), ev("done")]),
    ];
    const out = await collect(
      resumeEvents((attempt, id) => {
        calls.push([attempt, id]);
        return conns[attempt]();
      }, isLast, noWait),
    );
    expect(out.map((e) => e.id ?? e.event)).toEqual(["0", "4", "9", "12", "done"]);
    expect(calls).toEqual([[0, null], [1, "4"], [2, "4"], [3, "9"]]);
  });

  it("a reconnection that gets nothing (204) is StreamGone; an HTTP error or abort ends at once", async () => {
    const gone = resumeEvents((a) => (a === 0 ? events([ev("token", "1")], new TypeError("reset")) : events([])), isLast, noWait);
    await expect(collect(gone)).rejects.toBeInstanceOf(StreamGone);
    const refused = resumeEvents(() => events([], new ApiError("busy", 409)), isLast, noWait);
    await expect(collect(refused)).rejects.toThrow("busy");
    const aborted = resumeEvents(() => events([ev("token", "1")], new DOMException("x", "AbortError")), isLast, noWait);
    await expect(collect(aborted)).rejects.toSatisfy(isAbort);
  });

  it("a first request that fails before any event is not retried (it may never have arrived)", async () => {
    let tries = 0;
    const first = resumeEvents(() => {
      tries += 1;
      return events([], new TypeError("Failed to fetch"));
    }, isLast, noWait);
    await expect(collect(first)).rejects.toThrow(/Cannot reach the API server/);
    expect(tries).toBe(1);
  });

  it("gives up after the retries in a row without an event", async () => {
    let tries = 0;
    const flaky = resumeEvents((a) => {
      tries += 1;
      return a === 0 ? events([ev("token", "1")], new TypeError("reset")) : events([], new TypeError("reset"));
    }, isLast, { ...noWait, retries: 3 });
    await expect(collect(flaky)).rejects.toBeInstanceOf(StreamGone);
    expect(tries).toBe(4);
  });
});

describe("streamEvents resume header", () => {
  it("sends Last-Event-ID and treats 204 as no events", async () => {
    const fetchImpl = async (_url: RequestInfo | URL, init?: RequestInit) => {
      expect((init?.headers as Record<string, string>)["Last-Event-ID"]).toBe("7");
      return new Response(null, { status: 204 });
    };
    expect(await collect(streamEvents("/x", { lastEventId: "7", fetchImpl: fetchImpl as typeof fetch }))).toEqual([]);
  });
});
