import { useEffect, useState } from "react";

import { client } from "@/lib/api";
import { cn } from "@/lib/utils";

export type TokenInput = { prompt: string } | { messages: { role: "system" | "user" | "assistant"; content: string }[] };

interface Count {
  count: number;
  max: number;
}

/** Live token count of a prompt or conversation from POST /tokenize (debounced; null while unknown
 *  or when the model has no local tokenizer). */
export function useTokenCount(model: string, input: TokenInput, delayMs = 300): Count | null {
  const [count, setCount] = useState<Count | null>(null);
  const key = JSON.stringify(input);
  useEffect(() => {
    const abort = new AbortController();
    const timer = setTimeout(async () => {
      const body = { model: model || undefined, ...(JSON.parse(key) as TokenInput) };
      if ("prompt" in body && !body.prompt) return setCount(null);
      try {
        const { data } = await client.POST("/tokenize", { body, signal: abort.signal });
        setCount(data ? { count: data.count, max: data.max_model_len } : null);
      } catch {
        // Aborted by a newer edit, or the server is unreachable: the count just stays hidden.
      }
    }, delayMs);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [model, key, delayMs]);
  return count;
}

/** "123 / 2,048 tokens" against the model's context; amber past 90%, red when it cannot fit. */
export function TokenCount({ model, input, className }: { model: string; input: TokenInput; className?: string }) {
  const c = useTokenCount(model, input);
  if (!c) return null;
  const share = c.count / c.max;
  return (
    <p
      data-testid="token-count"
      className={cn(
        "text-xs tabular-nums text-muted-foreground",
        share >= 1 ? "text-destructive" : share > 0.9 && "text-amber-600",
        className,
      )}
    >
      {c.count.toLocaleString()} / {c.max.toLocaleString()} tokens
    </p>
  );
}
