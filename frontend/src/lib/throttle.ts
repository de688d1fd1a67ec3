/**
 * Coalesces rapid calls (one per streamed token, hundreds per second on small models) into at
 * most one per `ms`, always delivering the latest value; `flush` delivers a pending one now.
 * Keeps Markdown re-rendering from starving the main thread, so Stop stays responsive.
 */
export function throttleLatest<T>(fn: (value: T) => void, ms = 50) {
  let pending: { value: T } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastRun = 0;

  function run() {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    lastRun = Date.now();
    fn(value);
  }

  return {
    call(value: T) {
      pending = { value };
      if (timer) return;
      const wait = Math.max(0, ms - (Date.now() - lastRun));
      timer = setTimeout(run, wait);
    },
    flush() {
      if (timer) clearTimeout(timer);
      run();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
