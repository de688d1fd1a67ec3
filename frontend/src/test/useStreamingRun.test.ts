import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useStreamingRun, type RunContext, type RunOutcome } from "@/hooks/useStreamingRun";
import { ApiError } from "@/lib/errors";

/** A run's work driven by the test: `emit` streams a chunk, `end`/`fail` finish it; an abort of
 * the signal rejects it with an AbortError, as fetch does. */
function controlledWork() {
  let ctx!: RunContext<string>;
  let resolve!: (v: string) => void;
  let reject!: (e: unknown) => void;
  let text = "";
  let tokens = 0;
  const work = (c: RunContext<string>) =>
    new Promise<string>((res, rej) => {
      ctx = c;
      resolve = res;
      reject = rej;
      c.signal.addEventListener("abort", () => rej(new DOMException("The user aborted a request.", "AbortError")));
    });
  return {
    work,
    signal: () => ctx.signal,
    emit(chunk: string) {
      text += chunk;
      tokens += 1;
      ctx.update(text, tokens);
    },
    end: () => resolve(text),
    fail: (e: unknown) => reject(e),
  };
}

describe("useStreamingRun", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] }));
  afterEach(() => vi.useRealTimers());

  function setup() {
    const shown: string[] = [];
    const hook = renderHook(() => useStreamingRun<string>((t) => shown.push(t)));
    /** Starts a run inside act() and gives its outcome's promise. */
    function begin(work: (ctx: RunContext<string>) => Promise<string>, finish?: (o: RunOutcome<string>) => Promise<void>) {
      let outcome!: Promise<RunOutcome<string>>;
      act(() => {
        outcome = hook.result.current.start(work, finish);
      });
      return outcome;
    }
    return { shown, hook, begin };
  }

  it("is busy while it runs, shows the stream throttled, and resolves with the result", async () => {
    const { shown, hook, begin } = setup();
    const w = controlledWork();
    const outcome = begin(w.work);
    expect(hook.result.current.busy).toBe(true);
    expect(w.signal().aborted).toBe(false);

    // A burst of tokens within one interval reaches the view once, with the latest text.
    act(() => ["Hel", "lo", ",", " world"].forEach(w.emit));
    expect(shown).toEqual([]);
    act(() => vi.advanceTimersByTime(50));
    expect(shown).toEqual(["Hello, world"]);
    expect(hook.result.current.tokens).toBe(4);

    // On success the pending view is dropped: the caller shows the final result instead.
    act(() => w.emit("!"));
    await act(async () => w.end());
    await expect(outcome).resolves.toEqual({ status: "done", value: "Hello, world!" });
    act(() => vi.advanceTimersByTime(100));
    expect(shown).toEqual(["Hello, world"]);
    expect(hook.result.current.busy).toBe(false);
    expect(hook.result.current.error).toBeNull();
  });

  it("Stop mid-run keeps the text streamed so far and gives the stopped figures", async () => {
    const { shown, hook, begin } = setup();
    const w = controlledWork();
    const outcome = begin(w.work);
    act(() => {
      vi.advanceTimersByTime(500); // time to first token
      w.emit("one");
      w.emit(" two");
      vi.advanceTimersByTime(1500);
      w.emit(" three"); // still pending in the throttle when Stop comes
    });
    await act(async () => hook.result.current.stop());
    const result = await outcome;
    expect(w.signal().aborted).toBe(true);
    expect(shown[shown.length - 1]).toBe("one two three");
    expect(result.status).toBe("stopped");
    if (result.status !== "stopped") return;
    expect(result.figures.tokens).toBe(3);
    expect(result.figures.elapsedMs).toBe(2000);
    expect(result.figures.tokensPerSecond).toBeCloseTo(1.5);
    expect(hook.result.current.tokens).toBe(3);
    expect(hook.result.current.busy).toBe(false);
    expect(hook.result.current.error).toBeNull(); // a stop is not an error
  });

  it("a failure sets the error, keeps the streamed text, and the next start clears it", async () => {
    const { shown, hook, begin } = setup();
    const w = controlledWork();
    const outcome = begin(w.work);
    act(() => w.emit("partial"));
    const err = new ApiError("Model not found", 404);
    await act(async () => w.fail(err));
    await expect(outcome).resolves.toEqual({ status: "failed", error: err });
    expect(hook.result.current.error).toBe(err);
    expect(hook.result.current.busy).toBe(false);
    expect(shown).toEqual(["partial"]);

    const next = controlledWork();
    act(() => void hook.result.current.start(next.work));
    expect(hook.result.current.error).toBeNull();
    expect(hook.result.current.busy).toBe(true);
  });

  it("aborts the run when the component unmounts", async () => {
    const { hook, begin } = setup();
    const w = controlledWork();
    const outcome = begin(w.work);
    act(() => w.emit("a"));
    hook.unmount();
    expect(w.signal().aborted).toBe(true);
    await expect(outcome).resolves.toMatchObject({ status: "stopped", figures: { tokens: 1 } });
  });

  it("stays busy until finish is done with the outcome", async () => {
    const { hook, begin } = setup();
    const w = controlledWork();
    let release!: () => void;
    const seen: RunOutcome<string>[] = [];
    const outcome = begin(w.work, (o) => {
      seen.push(o);
      return new Promise<void>((r) => (release = r));
    });
    act(() => w.emit("all"));
    await act(async () => w.end());
    expect(seen).toEqual([{ status: "done", value: "all" }]);
    expect(hook.result.current.busy).toBe(true);
    await act(async () => release());
    await expect(outcome).resolves.toEqual({ status: "done", value: "all" });
    expect(hook.result.current.busy).toBe(false);
  });

  it("a newer run aborts the older one and owns the busy flag", async () => {
    const { hook, begin } = setup();
    const first = controlledWork();
    const firstOutcome = begin(first.work);
    const second = controlledWork();
    const secondOutcome = begin(second.work);
    expect(first.signal().aborted).toBe(true);
    await act(async () => {
      await expect(firstOutcome).resolves.toMatchObject({ status: "stopped" });
    });
    expect(hook.result.current.busy).toBe(true); // the second run is still going
    await act(async () => second.end());
    await expect(secondOutcome).resolves.toEqual({ status: "done", value: "" });
    expect(hook.result.current.busy).toBe(false);
  });
});
