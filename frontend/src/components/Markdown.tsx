import { memo, useMemo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";

import { cn } from "@/lib/utils";

/** Turns "[3]" citation markers into links the renderer below shows as buttons. */
export function linkCitations(text: string): string {
  return text.replace(/\[(\d{1,3})\](?!\()/g, "[[$1]](#cite-$1)");
}

interface Props {
  text: string;
  className?: string;
  /** When set, [n] markers become buttons calling onCite(n). */
  onCite?: (n: number) => void;
}

/** Model output rendered as GitHub-flavoured Markdown with highlighted code blocks. */
export const Markdown = memo(function Markdown({ text, className, onCite }: Props) {
  const components = useMemo<Components | undefined>(
    () =>
      onCite && {
        a({ href, children, ...rest }) {
          const m = /^#cite-(\d+)$/.exec(href ?? "");
          if (m) {
            const n = Number(m[1]);
            return (
              <button
                type="button"
                className="mx-0.5 rounded bg-primary/15 px-1 font-mono text-xs text-primary hover:bg-primary/25 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
                aria-label={`Open source ${n}`}
                onClick={() => onCite(n)}
              >
                {n}
              </button>
            );
          }
          return (
            <a href={href} {...rest} target="_blank" rel="noreferrer">
              {children}
            </a>
          );
        },
      },
    [onCite],
  );
  return (
    <div className={cn("markdown break-words text-sm leading-relaxed", className)}>
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[[rehypeHighlight, { detect: false }]]}
        components={components}
      >
        {onCite ? linkCitations(text) : text}
      </ReactMarkdown>
    </div>
  );
});
