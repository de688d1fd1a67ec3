import { useEffect, useRef, useState } from "react";
import { Eraser, Send, Square } from "lucide-react";
import { useQueryClient } from "@tanstack/react-query";

import { CopyButton } from "@/components/CopyButton";
import { EmptyState, NoModels } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { Figures } from "@/components/Figures";
import { PageHeader } from "@/components/Layout";
import { Markdown } from "@/components/Markdown";
import { ModelPicker } from "@/components/ModelPicker";
import { ParamsForm } from "@/components/ParamsForm";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Textarea } from "@/components/ui/textarea";
import { ToolsPlayground } from "@/components/tools/ToolsPlayground";
import { $api } from "@/lib/api";
import {
  clearConversation,
  conversationStore,
  patchConversation,
  statsFrom,
  updateLastAssistant,
  useConversation,
  type ResponseStats,
} from "@/lib/conversation";
import { toRequestParams } from "@/lib/params";
import { streamGenerate } from "@/lib/generate";
import { isAbort } from "@/lib/stream";
import { throttleLatest } from "@/lib/throttle";
import { usePageParams } from "@/lib/usePageParams";
import { cn } from "@/lib/utils";
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
  const { params, setParams, defaults } = usePageParams("playground");
  const models = $api.useQuery("get", "/api/v1/models");
  const queryClient = useQueryClient();
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [liveTokens, setLiveTokens] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const abortRef = useRef<AbortController | null>(null);
  const endRef = useRef<HTMLDivElement>(null);

  useEffect(() => () => abortRef.current?.abort(), []);
  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: "end" });
  }, [conv.turns, conv.completion]);

  async function run() {
    const c = conversationStore.get();
    if (!c.model) return;
    const controller = new AbortController();
    abortRef.current = controller;
    setBusy(true);
    setError(null);
    setLiveTokens(0);
    let tokens = 0;
    let latest = "";
    const chatView = throttleLatest((t: string) => {
      setLiveTokens(tokens);
      updateLastAssistant(t);
    });
    const completionView = throttleLatest((t: string) => {
      setLiveTokens(tokens);
      patchConversation({ completion: t });
    });
    try {
      if (c.mode === "chat") {
        const text = input.trim();
        if (!text) return;
        const history = [...c.turns.filter((t) => !t.error), { role: "user" as const, content: text }];
        patchConversation({ turns: [...c.turns, { role: "user", content: text }, { role: "assistant", content: "" }] });
        setInput("");
        const res = await streamGenerate(
          {
            model: c.model,
            backend: c.backend || undefined,
            messages: history,
            system: c.system || undefined,
            ...toRequestParams(params),
          },
          (t, n) => {
            latest = t;
            tokens = n;
            chatView.call(t);
          },
          controller.signal,
        );
        chatView.cancel();
        updateLastAssistant(res.text, { stats: statsFrom(res) });
      } else {
        patchConversation({ completion: "", completionStats: undefined });
        const res = await streamGenerate(
          { model: c.model, backend: c.backend || undefined, prompt: c.prompt, ...toRequestParams(params) },
          (t, n) => {
            latest = t;
            tokens = n;
            completionView.call(t);
          },
          controller.signal,
        );
        completionView.cancel();
        patchConversation({ completion: res.text, completionStats: statsFrom(res) });
      }
    } catch (err) {
      chatView.cancel();
      completionView.cancel();
      if (isAbort(err)) {
        if (c.mode === "chat") updateLastAssistant(latest, { stats: stoppedStats(c.model, tokens) });
        else patchConversation({ completionStats: stoppedStats(c.model, tokens) });
      } else {
        setError(err);
        if (c.mode === "chat") updateLastAssistant(latest, { error: String((err as Error).message ?? err) });
      }
    } finally {
      abortRef.current = null;
      setBusy(false);
      void queryClient.invalidateQueries({ queryKey: ["get", "/api/v1/models"] });
    }
  }

  function stop() {
    abortRef.current?.abort();
  }

  const noModels = models.data && models.data.local.length === 0;

  return (
    <div className="mx-auto max-w-7xl">
      <PageHeader title="Playground" description="Chat with a model or complete raw text, streamed token by token." />
      <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
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
                <Tabs value={conv.mode} onValueChange={(v) => patchConversation({ mode: v as "chat" | "completion" })}>
                  <TabsList aria-label="Mode">
                    <TabsTrigger value="chat">Chat</TabsTrigger>
                    <TabsTrigger value="completion">Completion</TabsTrigger>
                  </TabsList>
                </Tabs>
              </div>
              {conv.mode === "chat" && (
                <div className="space-y-1">
                  <Label htmlFor="pg-system">System prompt</Label>
                  <Textarea
                    id="pg-system"
                    rows={2}
                    placeholder="Optional instructions for the assistant"
                    value={conv.system}
                    onChange={(e) => patchConversation({ system: e.target.value })}
                  />
                </div>
              )}
            </CardContent>
          </Card>

          <ErrorAlert error={models.error} title="Could not list models" />
          {noModels && <NoModels />}

          {conv.mode === "chat" ? (
            <Card>
              <CardContent className="pt-6">
                <div className="mb-3 flex items-center justify-between">
                  <h2 className="text-sm font-semibold">Conversation</h2>
                  <Button variant="ghost" size="sm" onClick={clearConversation} disabled={busy || !conv.turns.length}>
                    <Eraser /> Clear
                  </Button>
                </div>
                <ol className="space-y-3" aria-label="Messages" aria-live="polite">
                  {conv.turns.length === 0 && (
                    <EmptyState title="No messages yet" className="p-6">
                      Type a message below and press Send (Ctrl+Enter).
                    </EmptyState>
                  )}
                  {conv.turns.map((t, i) => (
                    <li
                      key={i}
                      data-testid={`turn-${t.role}`}
                      className={cn(
                        "rounded-lg border p-3",
                        t.role === "user" ? "ml-8 bg-secondary/60" : "mr-8 bg-card",
                      )}
                    >
                      <div className="mb-1 flex items-center justify-between">
                        <span className="text-xs font-semibold uppercase text-muted-foreground">{t.role}</span>
                        {t.role === "assistant" && t.content && <CopyButton text={t.content} />}
                      </div>
                      {t.role === "assistant" ? (
                        <div data-testid="assistant-text">
                          {t.content ? <Markdown text={t.content} /> : <span className="text-sm text-muted-foreground">…</span>}
                        </div>
                      ) : (
                        <p className="whitespace-pre-wrap text-sm">{t.content}</p>
                      )}
                      {t.role === "assistant" && (
                        <Figures
                          stats={t.stats}
                          live={busy && i === conv.turns.length - 1 ? { tokens: liveTokens } : undefined}
                        />
                      )}
                    </li>
                  ))}
                </ol>
                <div ref={endRef} />
              </CardContent>
            </Card>
          ) : (
            <Card>
              <CardContent className="space-y-3 pt-6">
                <div className="space-y-1">
                  <Label htmlFor="pg-prompt">Prompt</Label>
                  <Textarea
                    id="pg-prompt"
                    rows={5}
                    placeholder="Text for the model to continue (no chat template)"
                    value={conv.prompt}
                    onChange={(e) => patchConversation({ prompt: e.target.value })}
                  />
                  <TokenCount model={conv.model} input={{ prompt: conv.prompt }} />
                </div>
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
                <Figures stats={conv.completionStats} live={busy ? { tokens: liveTokens } : undefined} />
              </CardContent>
            </Card>
          )}

          <ErrorAlert error={error} title="Generation failed" />

          {conv.mode === "chat" && (
            <ToolsPlayground model={conv.model} backend={conv.backend || undefined} params={toRequestParams(params)} />
          )}

          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (!busy) void run();
            }}
          >
            {conv.mode === "chat" && (
              <div className="flex-1 space-y-1">
                <Label htmlFor="pg-input" className="sr-only">
                  Message
                </Label>
                <Textarea
                  id="pg-input"
                  rows={2}
                  placeholder="Message the model… (Ctrl+Enter to send)"
                  value={input}
                  onChange={(e) => setInput(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                      e.preventDefault();
                      if (!busy) void run();
                    }
                  }}
                />
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
              </div>
            )}
            {busy ? (
              <Button key="stop" type="button" variant="destructive" onClick={stop}>
                <Square /> Stop
              </Button>
            ) : (
              // Distinct keys: reusing one <button> would turn the Stop click into a submit once
              // the abort flips it back to "Send" (the click's default action runs after).
              <Button
                key="send"
                type="submit"
                disabled={!conv.model || (conv.mode === "chat" ? !input.trim() : !conv.prompt.trim())}
              >
                <Send /> {conv.mode === "chat" ? "Send" : "Generate"}
              </Button>
            )}
          </form>
        </div>

        <Card className="h-fit">
          <CardContent className="pt-6">
            <ParamsForm idPrefix="pg" value={params} onChange={setParams} defaults={defaults} />
          </CardContent>
        </Card>
      </div>
    </div>
  );
}
