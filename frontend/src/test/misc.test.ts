import { describe, expect, it, vi } from "vitest";

import { linkCitations } from "@/components/Markdown";
import { ApiError, toApiError } from "@/lib/errors";
import { formatBytes, formatDuration, formatMs } from "@/lib/format";
import { jobPercent } from "@/lib/rag";
import { throttleLatest } from "@/lib/throttle";

describe("errors", () => {
  it("reads the envelope, FastAPI details, text and network failures", () => {
    expect(toApiError({ error: { message: "bad", type: "invalid_request_error", param: "top_p" } }, 400)).toMatchObject({
      message: "bad",
      status: 400,
      param: "top_p",
    });
    expect(toApiError({ detail: "Not Found" }, 404).message).toBe("Not Found");
    expect(toApiError("", 401).message).toMatch(/API key/);
    expect(toApiError(new TypeError("Failed to fetch")).message).toMatch(/Cannot reach the API server/);
    expect(toApiError({}, 502).message).toBe("Request failed (HTTP 502).");
    const e = new ApiError("x", 1);
    expect(toApiError(e)).toBe(e);
  });
});

describe("format", () => {
  it("formats bytes, durations and milliseconds", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(null)).toBe("–");
    expect(formatMs(1234)).toBe("1.23 s");
    expect(formatMs(12.4)).toBe("12 ms");
    expect(formatDuration(75)).toBe("1m 15s");
  });
});

describe("citations", () => {
  it("links [n] markers but leaves Markdown links alone", () => {
    expect(linkCitations("Biscuit [1], see [2](http://x)")).toBe("Biscuit [[1]](#cite-1), see [2](http://x)");
  });

  it("ingestion percent weighs parsing then embedding", () => {
    const job = { status: "running", pages_total: 4, pages_parsed: 4, chunks_total: 10, chunks_embedded: 5 } as Parameters<typeof jobPercent>[0];
    expect(jobPercent(job)).toBe(65);
    expect(jobPercent({ ...job, status: "succeeded" })).toBe(100);
  });
});

describe("throttleLatest", () => {
  it("delivers the latest value at most once per interval", () => {
    vi.useFakeTimers();
    const seen: number[] = [];
    const t = throttleLatest((v: number) => seen.push(v), 50);
    t.call(1);
    t.call(2);
    t.call(3);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(seen).toEqual([3]);
    t.call(4);
    t.flush();
    expect(seen).toEqual([3, 4]);
    t.call(5);
    t.cancel();
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([3, 4]);
    vi.useRealTimers();
  });
});
