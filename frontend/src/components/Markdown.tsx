import { lazy, Suspense } from "react";

import { cn } from "@/lib/utils";

// The renderer (react-markdown, remark-gfm, rehype-highlight, highlight.js) is its own chunk,
// fetched the first time a message is shown; until then the text shows as it is.
const MarkdownRenderer = lazy(() => import("@/components/MarkdownRenderer"));

/** Turns "[3]" citation markers into links the renderer shows as buttons. */
export function linkCitations(text: string): string {
  return text.replace(/\[(\d{1,3})\](?!\()/g, "[[$1]](#cite-$1)");
}

export interface MarkdownProps {
  text: string;
  className?: string;
  /** When set, [n] markers become buttons calling onCite(n). */
  onCite?: (n: number) => void;
}

/** Model output rendered as GitHub-flavoured Markdown with highlighted code blocks. */
export function Markdown(props: MarkdownProps) {
  const fallback = (
    <div className={cn("markdown whitespace-pre-wrap break-words text-sm leading-relaxed", props.className)}>
      {props.text}
    </div>
  );
  return (
    <Suspense fallback={fallback}>
      <MarkdownRenderer {...props} />
    </Suspense>
  );
}
