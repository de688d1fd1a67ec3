import { useEffect, useRef, useState } from "react";
import { Eraser, MessageSquarePlus, Send, Square } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { CopyButton } from "@/components/CopyButton";
import { ConversationSidebar } from "@/components/conversations/ConversationSidebar";
import { ExportButtons } from "@/components/conversations/ExportButtons";
import { MessageList } from "@/components/conversations/MessageList";
import { McpChatTools } from "@/components/mcp/McpChatTools";
import { useConversationChat } from "@/components/conversations/useConversationChat";
import { NoModels } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { Figures } from "@/components/Figures";
import { PageHeader } from "@/components/Layout";
import { Markdown } from "@/components/Markdown";
import { ModelPicker } from "@/components/ModelPicker";
import { ModeTabs } from "@/components/ModeTabs";
import { ParamsCard } from "@/components/ParamsForm";
import { TextareaField } from "@/components/TextareaField";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { ToolsPanel, ToolsTranscript, useToolsChat } from "@/components/tools/ToolsPlayground";
import { useStreamingRun } from "@/hooks/useStreamingRun";
import { $api } from "@/lib/api";
import {
  clearConversation,
  conversationStore,
  patchConversation,
  statsFrom,
  useConversation,
  type ResponseStats,
} from "@/lib/conversation";
import { toRequestParams } from "@/lib/params";
import { streamGenerate } from "@/lib/generate";
import { isSendKey } from "@/lib/keys";
import { usePageParams } from "@/lib/usePageParams";
import { TokenCount } from "@/components/TokenCount";

function stoppedStats(model: string, tokens: number): ResponseStats {
  return {
    ttft_ms: null,
    tokens_per_second: null,
    completion_tokens: tokens,
    prompt_tokens: null,
    total_ms: null,
    backend: null,
    finish_reason: "stopped",
    model,
  };
}

export function PlaygroundPage() {
  const conv = useConversation();
  // Chat mode: stored conversations (server-side); completion mode stays local.
  const chat = useConversationChat();
  const { params, setParams, defaults } = usePageParams("playground");
  const models = $api.useQuery("get", "/api/v1/models");
  const queryClient = useQueryClient();
  const [input, setInput] = useState("");
  // Completion mode's run: the text goes to the (persisted) conversation store as it streams.
  const completion = useStreamingRun<string>((t) => patchConversation({ completion: t }));
  const tools = useToolsChat({ model: conv.model, backend: conv.backend || undefined, params: toRequestParams(params) });
  const busy = completion.busy || chat.busy || tools.busy;
  const endRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: "end" });
  }, [conv.turns, conv.completion, tools.messages, tools.live]);

  async function run() {
    const c = conversationStore.get();
    if (!c.model) return;
    if (c.mode === "chat") {
      const text = input.trim();
      if (!text) return;
      setInput("");
      if (tools.enabled) tools.send(text);
      else await chat.send(text, toRequestParams(params));
      return;
    }
    patchConversation({ completion: "", completionStats: undefined });
    await completion.start(
      ({ signal, update }) =>
        streamGenerate({ model: c.model, backend: c.backend || undefined, prompt: c.prompt, ...toRequestParams(params) }, update, signal),
      (end) => {
        if (end.status === "done") patchConversation({ completion: end.value.text, completionStats: statsFrom(end.value) });
        else if (end.status === "stopped") patchConversation({ completionStats: stoppedStats(c.model, end.figures.tokens) });
        void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
      },
    );
  }

  function stop() {
    completion.stop();
    if (tools.enabled) tools.stop();
    else void chat.stop();
  }

  const noModels = models.data && models.data.local.length === 0;

  return (
    <div className="mx-auto max-w-7xl">
      <PageHeader title="Playground" description="Chat with a model or complete raw text, streamed token by token." />
      <div className="grid gap-4 lg:grid-cols-[14rem_1fr_20rem]">
        <aside className="min-w-0">
          <ConversationSidebar currentId={conv.conversationId} busy={busy} onOpen={chat.open} onNew={chat.startNew} />
        </aside>
        <div className="min-w-0 space-y-4">
          <Card>
            <CardContent className="space-y-3 pt-6">
              <div className="flex flex-wrap items-end gap-3">
                <div className="flex-1">
                  <ModelPicker
                    id="pg-model"
                    model={conv.model}
                    onModel={(m) => patchConversation({ model: m })}
                    backend={conv.backend}
                    onBackend={(b) => patchConversation({ backend: b })}
                  />
                </div>
                <ModeTabs value={conv.mode} onChange={(mode) => patchConversation({ mode })} />
              </div>
              {conv.mode === "chat" && (
                <TextareaField
                  id="pg-system"
                  label="System prompt"
                  rows={2}
                  placeholder="Optional instructions for the assistant"
                  value={conv.system}
                  onChange={(e) => patchConversation({ system: e.target.value })}
                />
              )}
            </CardContent>
          </Card>

          <ErrorAlert error={models.error} title="Could not list models" />
          {noModels && <NoModels />}

          {conv.mode === "chat" ? (
            <>
              <ToolsPanel tools={tools} />
              {!tools.enabled && <McpChatTools disabled={busy} />}
              <Card>
                <CardContent className="pt-6">
                  <div className="mb-3 flex flex-wrap items-center justify-between gap-1">
                    <h2 className="text-sm font-semibold">{tools.enabled ? "Tools chat (not stored)" : "Conversation"}</h2>
                    <div className="flex flex-wrap gap-1">
                      {tools.enabled ? (
                        <Button variant="ghost" size="sm" onClick={tools.clear} disabled={busy || !tools.messages.length}>
                          <Eraser /> Clear tools chat
                        </Button>
                      ) : (
                        <>
                          <ExportButtons conversationId={conv.conversationId} disabled={busy} />
                          <Button variant="ghost" size="sm" onClick={chat.startNew} disabled={busy || !conv.turns.length}>
                            <MessageSquarePlus /> New chat
                          </Button>
                        </>
                      )}
                    </div>
                  </div>
                  {tools.enabled ? (
                    <ToolsTranscript tools={tools} />
                  ) : (
                    <MessageList
                      turns={conv.turns}
                      busy={busy}
                      liveTokens={chat.liveTokens}
                      onRegenerate={() => void chat.regenerate(toRequestParams(params))}
                      onEdit={(id, text) => void chat.edit(id, text, toRequestParams(params))}
                    />
                  )}
                </CardContent>
              </Card>
            </>
          ) : (
            <Card>
              <CardContent className="space-y-3 pt-6">
                <TextareaField
                  id="pg-prompt"
                  label="Prompt"
                  rows={5}
                  placeholder="Text for the model to continue (no chat template)"
                  value={conv.prompt}
                  onChange={(e) => patchConversation({ prompt: e.target.value })}
                >
                  <TokenCount model={conv.model} input={{ prompt: conv.prompt }} />
                </TextareaField>
                <div className="flex items-center justify-between">
                  <h2 className="text-sm font-semibold">Completion</h2>
                  <div className="flex gap-1">
                    {conv.completion && <CopyButton text={conv.completion} />}
                    <Button variant="ghost" size="sm" onClick={clearConversation} disabled={busy || !conv.completion}>
                      <Eraser /> Clear
                    </Button>
                  </div>
                </div>
                <div className="min-h-24 rounded-lg border p-3" data-testid="completion-text" aria-live="polite">
                  {conv.completion ? (
                    <Markdown text={conv.completion} />
                  ) : (
                    <span className="text-sm text-muted-foreground">The continuation appears here.</span>
                  )}
                </div>
                <Figures stats={conv.completionStats} live={busy ? { tokens: completion.tokens } : undefined} />
              </CardContent>
            </Card>
          )}

          <ErrorAlert error={completion.error ?? (tools.enabled ? tools.error : chat.error)} title="Generation failed" />

          {/* The one composer: sticks to the bottom of the window, so Stop stays in view while an answer streams. */}
          <form
            className="sticky bottom-0 z-10 -mx-1 flex items-end gap-2 rounded-lg border bg-background/95 p-2 shadow-sm backdrop-blur"
            aria-label="Composer"
            onSubmit={(e) => {
              e.preventDefault();
              if (!busy) void run();
            }}
          >
            {conv.mode === "chat" ? (
              <div className="flex-1 space-y-1">
                <Label htmlFor="pg-input" className="sr-only">
                  Message
                </Label>
                <Textarea
                  id="pg-input"
                  rows={2}
                  placeholder={tools.enabled ? "Ask something that needs a tool… (Enter to send, Shift+Enter for a new line)" : "Message the model… (Enter to send, Shift+Enter for a new line)"}
                  value={input}
                  onChange={(e) => setInput(e.target.value)}
                  onKeyDown={(e) => {
                    if (isSendKey(e)) {
                      e.preventDefault();
                      if (!busy) void run();
                    }
                  }}
                />
                {!tools.enabled && (
                  <TokenCount
                    model={conv.model}
                    input={{
                      messages: [
                        ...(conv.system ? [{ role: "system" as const, content: conv.system }] : []),
                        ...conv.turns.map((t) => ({ role: t.role, content: t.content })),
                        { role: "user" as const, content: input },
                      ],
                    }}
                  />
                )}
              </div>
            ) : (
              <p className="flex-1 text-xs text-muted-foreground">The model continues the prompt above as raw text.</p>
            )}
            {busy ? (
              <Button key="stop" type="button" variant="destructive" onClick={stop} disabled={chat.stopping}>
                <Square /> {chat.stopping ? "Stopping…" : "Stop"}
              </Button>
            ) : (
              // Distinct keys: reusing one <button> would turn the Stop click into a submit once
              // the stream ends and flips it back to "Send" (the click's default action runs after).
              <Button
                key="send"
                type="submit"
                disabled={!conv.model || (conv.mode === "chat" ? !input.trim() : !conv.prompt.trim())}
              >
                <Send /> {conv.mode === "chat" ? "Send" : "Generate"}
              </Button>
            )}
          </form>
          <div ref={endRef} />
        </div>

        <ParamsCard idPrefix="pg" value={params} onChange={setParams} defaults={defaults} className="h-fit" />
      </div>
    </div>
  );
}
