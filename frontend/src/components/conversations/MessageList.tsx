import { useState } from "react";
import { Pencil, RefreshCw } from "lucide-react";

import { CopyButton } from "@/components/CopyButton";
import { EmptyState } from "@/components/EmptyState";
import { Figures } from "@/components/Figures";
import { McpToolCard } from "@/components/mcp/McpToolCard";
import { Markdown } from "@/components/Markdown";
import { Button } from "@/components/ui/button";
import { Textarea } from "@/components/ui/textarea";
import type { Turn } from "@/lib/conversation";
import { isSendKey } from "@/lib/keys";
import { cn } from "@/lib/utils";

interface Props {
  turns: Turn[];
  busy: boolean;
  liveTokens: number;
  onRegenerate: () => void;
  onEdit: (messageId: string, content: string) => void;
}

/** The messages of a conversation, with edit-and-resend on user messages and regenerate on
 * the last answer. */
export function MessageList({ turns, busy, liveTokens, onRegenerate, onEdit }: Props) {
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const last = turns.length - 1;
  return (
    <ol className="space-y-3" aria-label="Messages" aria-live="polite">
      {turns.length === 0 && (
        <EmptyState title="No messages yet" className="p-6">
          Type a message below and press Enter (Shift+Enter for a new line).
        </EmptyState>
      )}
      {turns.map((t, i) => (
        <li
          key={t.id ?? `pending-${i}`}
          data-testid={`turn-${t.role}`}
          className={cn("rounded-lg border p-3", t.role === "user" ? "ml-8 bg-secondary/60" : "mr-8 bg-card")}
        >
          <div className="mb-1 flex items-center justify-between">
            <span className="text-xs font-semibold uppercase text-muted-foreground">{t.role}</span>
            <div className="flex gap-1">
              {t.role === "user" && t.id && editing !== t.id && (
                <Button
                  variant="ghost"
                  size="sm"
                  disabled={busy}
                  onClick={() => {
                    setEditing(t.id!);
                    setDraft(t.content);
                  }}
                >
                  <Pencil /> Edit
                </Button>
              )}
              {t.role === "assistant" && i === last && !busy && (
                <Button variant="ghost" size="sm" onClick={onRegenerate}>
                  <RefreshCw /> Regenerate
                </Button>
              )}
              {t.role === "assistant" && t.content && <CopyButton text={t.content} />}
            </div>
          </div>
          {t.role === "user" && editing === t.id ? (
            <form
              className="space-y-2"
              onSubmit={(e) => {
                e.preventDefault();
                if (!draft.trim()) return;
                setEditing(null);
                onEdit(t.id!, draft.trim());
              }}
            >
              <Textarea
                aria-label="Edit message"
                rows={3}
                value={draft}
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={(e) => {
                  if (isSendKey(e)) {
                    e.preventDefault();
                    e.currentTarget.form?.requestSubmit();
                  }
                }}
              />
              <p className="text-xs text-muted-foreground">Enter resends (Shift+Enter for a new line); resending drops the messages after this one.</p>
              <div className="flex gap-2">
                <Button type="submit" size="sm" disabled={!draft.trim()}>
                  Save &amp; resend
                </Button>
                <Button type="button" size="sm" variant="ghost" onClick={() => setEditing(null)}>
                  Cancel
                </Button>
              </div>
            </form>
          ) : t.role === "assistant" ? (
            <>
              {t.tools && t.tools.length > 0 && (
                <div className="mb-2 space-y-2" aria-label="Tool calls">
                  {t.tools.map((call) => (
                    <McpToolCard key={call.id} call={call} />
                  ))}
                </div>
              )}
              <div data-testid="assistant-text">
                {t.content ? <Markdown text={t.content} /> : <span className="text-sm text-muted-foreground">…</span>}
              </div>
            </>
          ) : (
            <p className="whitespace-pre-wrap text-sm">{t.content}</p>
          )}
          {t.role === "assistant" && <Figures stats={t.stats} live={busy && i === last ? { tokens: liveTokens } : undefined} />}
        </li>
      ))}
    </ol>
  );
}
