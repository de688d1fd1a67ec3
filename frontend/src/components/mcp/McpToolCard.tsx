import { useState } from "react";
import { Check, Loader2, Plug, X } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { decideApproval, type ToolCallView, type ToolStatus } from "@/lib/mcp";
import { cn } from "@/lib/utils";

/** JSON arguments indented for reading (as given when they are not JSON). */
export function prettyArguments(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

const STATUS_TEXT: Record<ToolStatus, string> = {
  running: "running",
  awaiting: "waiting for approval",
  ok: "ok",
  error: "error",
  denied: "denied",
  timeout: "timed out",
  cancelled: "stopped",
};

/** A duration for a card: milliseconds under a second, seconds above. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One MCP tool call of an answer: server, tool, arguments, then its result, status and
 * duration; while it waits for the user, Approve and Deny. */
export function McpToolCard({ call }: { call: ToolCallView }) {
  const [deciding, setDeciding] = useState<boolean | null>(null);
  const [error, setError] = useState<unknown>(null);
  const failed = call.status === "error" || call.status === "timeout" || call.status === "denied";

  async function decide(approve: boolean) {
    if (!call.approvalId) return;
    setDeciding(approve);
    setError(null);
    try {
      await decideApproval(call.approvalId, approve);
    } catch (err) {
      setError(err);
      setDeciding(null);
    }
  }

  return (
    <div className="rounded-md border bg-secondary/40 p-2 text-sm" data-testid="mcp-tool-call" data-status={call.status}>
      <div className="mb-1 flex flex-wrap items-center gap-2 text-xs">
        <Plug className="h-3 w-3" aria-hidden />
        <span className="font-mono font-semibold" data-testid="mcp-tool-name">
          {call.server} · {call.tool}
        </span>
        <Badge variant={failed ? "destructive" : call.status === "ok" ? "secondary" : "outline"} data-testid="mcp-tool-status">
          {call.status === "running" && <Loader2 className="mr-1 h-3 w-3 animate-spin" aria-hidden />}
          {STATUS_TEXT[call.status]}
        </Badge>
        {call.durationMs !== undefined && call.status !== "cancelled" && (
          <span className="text-muted-foreground" data-testid="mcp-tool-duration">
            {formatDuration(call.durationMs)}
          </span>
        )}
      </div>
      <pre className="overflow-x-auto whitespace-pre-wrap text-xs" data-testid="mcp-tool-arguments">
        {prettyArguments(call.arguments)}
      </pre>
      {call.status === "awaiting" && (
        <div className="mt-2 flex flex-wrap items-center gap-2">
          <span className="text-xs text-muted-foreground">Run this tool call?</span>
          <Button size="sm" onClick={() => void decide(true)} disabled={deciding !== null}>
            <Check /> Approve
          </Button>
          <Button size="sm" variant="outline" onClick={() => void decide(false)} disabled={deciding !== null}>
            <X /> Deny
          </Button>
        </div>
      )}
      <ErrorAlert error={error} title="Could not send the decision" className="mt-2" />
      {call.result !== undefined && (
        <div className="mt-1 text-xs" data-testid="mcp-tool-result">
          <span className="font-semibold">Result{call.truncated ? " (cut to the size budget)" : ""}:</span>
          <pre className={cn("mt-0.5 max-h-48 overflow-auto whitespace-pre-wrap", failed && "text-destructive")}>{call.result}</pre>
        </div>
      )}
    </div>
  );
}
