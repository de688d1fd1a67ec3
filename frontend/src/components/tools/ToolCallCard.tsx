import { useState } from "react";
import { Wrench } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Textarea } from "@/components/ui/textarea";
import type { ToolCall } from "@/lib/tools";

function pretty(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

/** One tool call the model made: its function and arguments, and (while unanswered) a box to
 * type the tool's result and continue the conversation with it. */
export function ToolCallCard({
  call,
  result,
  onResult,
  busy,
}: {
  call: ToolCall;
  result?: string;
  onResult?: (text: string) => void;
  busy?: boolean;
}) {
  const [text, setText] = useState("");
  return (
    <div className="rounded-md border bg-secondary/40 p-2 text-sm" data-testid="tool-call">
      <div className="mb-1 flex items-center gap-1 font-mono text-xs font-semibold">
        <Wrench className="h-3 w-3" aria-hidden /> {call.function.name}
        <span className="font-normal text-muted-foreground">{call.id}</span>
      </div>
      <pre className="overflow-x-auto whitespace-pre-wrap text-xs" data-testid="tool-call-arguments">
        {pretty(call.function.arguments)}
      </pre>
      {result !== undefined ? (
        <p className="mt-1 text-xs" data-testid="tool-result">
          <span className="font-semibold">Result:</span> {result}
        </p>
      ) : (
        onResult && (
          <form
            className="mt-2 flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (text.trim()) onResult(text.trim());
            }}
          >
            <Textarea
              aria-label={`Result of ${call.function.name}`}
              rows={1}
              placeholder='Tool result, e.g. {"temperature": 21}'
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
            <Button type="submit" size="sm" disabled={busy || !text.trim()}>
              Send result
            </Button>
          </form>
        )
      )}
    </div>
  );
}
