import type { ReactNode } from "react";
import { Link } from "react-router-dom";

import { cn } from "@/lib/utils";

/** What to do next when a list is empty. */
export function EmptyState({ icon, title, children, className }: { icon?: ReactNode; title: string; children?: ReactNode; className?: string }) {
  return (
    <div className={cn("flex flex-col items-center justify-center gap-2 rounded-lg border border-dashed p-8 text-center", className)}>
      {icon && <div className="text-muted-foreground [&_svg]:h-8 [&_svg]:w-8">{icon}</div>}
      <div className="font-medium">{title}</div>
      {children && <div className="max-w-md text-sm text-muted-foreground">{children}</div>}
    </div>
  );
}

export function NoModels() {
  return (
    <EmptyState title="No model yet">
      Download one on the <Link className="text-primary underline" to="/models">
        Models
      </Link> page, or build the tiny demo
      model with <code className="rounded bg-muted px-1">.venv/bin/playground make-test-models --only tiny</code>.
    </EmptyState>
  );
}
