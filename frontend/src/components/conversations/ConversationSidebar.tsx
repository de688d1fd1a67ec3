import { useState } from "react";
import { Check, MessageSquarePlus, Pencil, Trash2, X } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { $api } from "@/lib/api";
import { deleteConversation, updateConversation, type ConversationSummary } from "@/lib/conversations";
import { cn } from "@/lib/utils";

import { CONVERSATIONS_KEY } from "./useConversationChat";

interface Props {
  currentId: string;
  busy: boolean;
  onOpen: (id: string) => void;
  onNew: () => void;
}

/** Stored conversations: start a new one, switch, search, rename and delete. */
export function ConversationSidebar({ currentId, busy, onOpen, onNew }: Props) {
  const [q, setQ] = useState("");
  const list = $api.useQuery("get", "/api/v1/conversations", { params: { query: q.trim() ? { q: q.trim() } : {} } });
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: CONVERSATIONS_KEY });

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
    await refresh();
  }

  return (
    <nav aria-label="Conversations" className="space-y-3">
      <Button className="w-full" variant="outline" onClick={onNew} disabled={busy}>
        <MessageSquarePlus /> New chat
      </Button>
      <Input aria-label="Search conversations" placeholder="Search…" value={q} onChange={(e) => setQ(e.target.value)} />
      <ErrorAlert error={error ?? list.error} title="Conversations" />
      <ul className="space-y-1" data-testid="conversation-list">
        {list.data?.data.length === 0 && (
          <li className="px-2 text-sm text-muted-foreground">{q ? "No conversation matches." : "No conversations yet."}</li>
        )}
        {list.data?.data.map((c) => (
          <ConversationItem
            key={c.id}
            conversation={c}
            current={c.id === currentId}
            busy={busy}
            onOpen={() => onOpen(c.id)}
            onRename={(title) => act(() => updateConversation(c.id, { title }))}
            onDelete={() =>
              act(async () => {
                await deleteConversation(c.id);
                if (c.id === currentId) onNew();
              })
            }
          />
        ))}
      </ul>
    </nav>
  );
}

interface ItemProps {
  conversation: ConversationSummary;
  current: boolean;
  busy: boolean;
  onOpen: () => void;
  onRename: (title: string) => void;
  onDelete: () => void;
}

export function ConversationItem({ conversation: c, current, busy, onOpen, onRename, onDelete }: ItemProps) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(c.title);
  if (editing) {
    return (
      <li>
        <form
          className="flex items-center gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            if (title.trim()) onRename(title.trim());
            setEditing(false);
          }}
        >
          <Input aria-label="Conversation title" value={title} autoFocus onChange={(e) => setTitle(e.target.value)} className="h-8" />
          <Button type="submit" size="icon" variant="ghost" aria-label="Save title">
            <Check />
          </Button>
          <Button type="button" size="icon" variant="ghost" aria-label="Cancel rename" onClick={() => setEditing(false)}>
            <X />
          </Button>
        </form>
      </li>
    );
  }
  return (
    <li className={cn("group flex items-center gap-1 rounded-md", current && "bg-secondary")} data-current={current || undefined}>
      <button
        type="button"
        className="min-w-0 flex-1 truncate rounded-md px-2 py-1.5 text-left text-sm hover:bg-accent disabled:opacity-50"
        onClick={onOpen}
        disabled={busy}
        aria-current={current ? "true" : undefined}
        title={c.title}
      >
        {c.title}
      </button>
      <Button
        size="icon"
        variant="ghost"
        className="h-7 w-7"
        aria-label={`Rename ${c.title}`}
        onClick={() => {
          setTitle(c.title);
          setEditing(true);
        }}
      >
        <Pencil />
      </Button>
      <Button
        size="icon"
        variant="ghost"
        className="h-7 w-7"
        aria-label={`Delete ${c.title}`}
        disabled={busy && current}
        onClick={() => {
          if (globalThis.confirm?.(`Delete "${c.title}"?`) ?? true) onDelete();
        }}
      >
        <Trash2 />
      </Button>
    </li>
  );
}
