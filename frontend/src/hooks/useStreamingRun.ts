import { useEffect, useRef, useState } from "react";

import { isAbort } from "@/lib/stream";
import { throttleLatest } from "@/lib/throttle";

/** Figures of a run that was stopped (Stop, or the page going away) before it finished. */
export interface StoppedFigures {
  /** Tokens streamed before the stop (the last count the run reported; 0 when it reports none). */
  tokens: number;
  /** Milliseconds from the start of the run to the stop. */
  elapsedMs: number;
  /** Tokens per second over that time; null before the first token. */
  tokensPerSecond: number | null;
}

/** How a run ended: its result, stopped (aborted), or failed (the error is also in `error`). */
export type RunOutcome<T> =
  | { status: "done"; value: T }
  | { status: "stopped"; figures: StoppedFigures }
  | { status: "failed"; error: unknown };

/** What a run's work gets: the signal that Stop and unmount abort, and where to report progress. */
export interface RunContext<V> {
  signal: AbortSignal;
  /** The view so far (the growing text, say) and the token count so far; they reach `show` and
   * `tokens` at most once per throttle interval, always the latest. */
  update: (view: V, tokens?: number) => void;
}

export interface StreamingRun<V> {
  /** True from `start` until the run (and its `finish`) is over. */
  busy: boolean;
  /** The last run's error (an abort is not one); cleared by the next `start`. */
  error: unknown;
  setError: (error: unknown) => void;
  /** The token count last shown (throttled with the view). */
  tokens: number;
  /**
   * Runs `work` with a fresh AbortController (aborting a run still going). Progress reported
   * through `update` reaches `show` throttled; when the run ends the pending view is dropped on
   * success (the caller shows the result) and delivered on a stop or a failure, so what streamed
   * stays on screen. `finish` runs with the outcome while `busy` is still true.
   */
  start: <T>(work: (ctx: RunContext<V>) => Promise<T>, finish?: (outcome: RunOutcome<T>) => void | Promise<void>) => Promise<RunOutcome<T>>;
  /** Aborts the run in progress, if any; `start` then resolves "stopped". */
  stop: () => void;
}

/**
 * The run/stop cycle of a streamed request: busy flag, error, an AbortController that Stop and
 * unmount abort, a throttled view of the accumulating output (at most one render per
 * `throttleMs`, so hundreds of tokens a second do not starve the main thread and Stop stays
 * responsive), and the figures of a stopped run.
 */
export function useStreamingRun<V = never>(show?: (view: V) => void, throttleMs = 50): StreamingRun<V> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tokens, setTokens] = useState(0);
  const controllerRef = useRef<AbortController | null>(null);
  // The latest `show`, so a run that started before a re-render still shows through the new one.
  const showRef = useRef(show);
  showRef.current = show;

  useEffect(() => () => controllerRef.current?.abort(), []);

  async function start<T>(
    work: (ctx: RunContext<V>) => Promise<T>,
    finish?: (outcome: RunOutcome<T>) => void | Promise<void>,
  ): Promise<RunOutcome<T>> {
    controllerRef.current?.abort();
    const controller = new AbortController();
    controllerRef.current = controller;
    setBusy(true);
    setError(null);
    setTokens(0);
    const startedAt = performance.now();
    let count = 0;
    const view = throttleLatest((v: V) => {
      setTokens(count);
      showRef.current?.(v);
    }, throttleMs);
    const update = (v: V, n?: number) => {
      if (n !== undefined) count = n;
      view.call(v);
    };

    let outcome: RunOutcome<T>;
    try {
      outcome = { status: "done", value: await work({ signal: controller.signal, update }) };
      view.cancel();
    } catch (err) {
      view.flush();
      if (isAbort(err)) {
        const elapsedMs = performance.now() - startedAt;
        const tokensPerSecond = count > 0 && elapsedMs > 0 ? (count * 1000) / elapsedMs : null;
        outcome = { status: "stopped", figures: { tokens: count, elapsedMs, tokensPerSecond } };
      } else {
        setError(err);
        outcome = { status: "failed", error: err };
      }
    }
    try {
      await finish?.(outcome);
    } finally {
      // A newer run owns the flag (and the controller) once it has started.
      if (controllerRef.current === controller) {
        controllerRef.current = null;
        setBusy(false);
      }
    }
    return outcome;
  }

  return { busy, error, setError, tokens, start, stop: () => controllerRef.current?.abort() };
}
