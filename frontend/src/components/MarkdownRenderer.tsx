// The Markdown renderer and highlighter, loaded on demand by components/Markdown.tsx (its own
// chunk: react-markdown, remark/rehype and highlight.js stay out of the entry bundle).
import { memo, useMemo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

import { linkCitations, type MarkdownProps } from "@/components/Markdown";
import { cn } from "@/lib/utils";

// The languages small models write most; others render as plain code.
const LANGUAGES = {
  bash, c, cpp, css, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml,
};

/** Model output rendered as GitHub-flavoured Markdown with highlighted code blocks. */
const MarkdownRenderer = memo(function MarkdownRenderer({ text, className, onCite }: MarkdownProps) {
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
        rehypePlugins={[[rehypeHighlight, { detect: false, languages: LANGUAGES }]]}
        components={components}
      >
        {onCite ? linkCitations(text) : text}
      </ReactMarkdown>
    </div>
  );
});

export default MarkdownRenderer;
