import { AlertTriangle } from "lucide-react";

import { errorMessage } from "@/lib/errors";
import { cn } from "@/lib/utils";

/** A readable API error (the envelope's message), never a blank page. */
export function ErrorAlert({ error, title = "Something went wrong", className }: { error: unknown; title?: string; className?: string }) {
  if (!error) return null;
  return (
    <div
      role="alert"
      className={cn(
        "flex gap-3 rounded-lg border border-destructive/50 bg-destructive/10 p-3 text-sm text-destructive dark:text-red-300",
        className,
      )}
    >
      <AlertTriangle className="mt-0.5 h-4 w-4 shrink-0" aria-hidden />
      <div>
        <div className="font-medium">{title}</div>
        <div className="whitespace-pre-wrap">{errorMessage(error)}</div>
      </div>
    </div>
  );
}
