import type { ResponseStats } from "@/lib/conversation";
import { formatMs, formatRate } from "@/lib/format";

/** Per-response figures: TTFT, tokens/s, tokens, backend. */
export function Figures({ stats, live }: { stats?: ResponseStats; live?: { tokens: number } }) {
  if (!stats && !live) return null;
  const items: [string, string][] = stats
    ? [
        ["TTFT", formatMs(stats.ttft_ms)],
        ["Speed", formatRate(stats.tokens_per_second)],
        ["Tokens", String(stats.completion_tokens ?? "–")],
        ["Backend", stats.backend ?? "–"],
        ["Finish", stats.finish_reason],
      ]
    : [["Tokens", String(live?.tokens ?? 0)]];
  return (
    <dl className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted-foreground" data-testid="figures">
      {items.map(([k, v]) => (
        <div key={k} className="flex gap-1">
          <dt>{k}</dt>
          <dd className="font-mono text-foreground" data-figure={k.toLowerCase()}>
            {v}
          </dd>
        </div>
      ))}
    </dl>
  );
}
