import { useState } from "react";
import { ChevronDown, ChevronRight, Plus, Trash2, Wrench } from "lucide-react";

import { TextareaField } from "@/components/TextareaField";
import { ToolCallCard } from "@/components/tools/ToolCallCard";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/textarea";
import { useStreamingRun } from "@/hooks/useStreamingRun";
import {
  EXAMPLE_TOOL,
  buildTools,
  pendingCalls,
  schemaFormat,
  streamChat,
  toolChoiceOf,
  turnToolChoice,
  type ChunkAssembler,
  type ToolDraft,
  type ToolMessage,
} from "@/lib/tools";

/**
 * A chat with tools and structured output on /v1/chat/completions (not stored): the functions
 * as JSON schema, tool_choice, an optional output schema, and the messages with the model's
 * calls. The page's one message box sends through `send` while tools are on.
 */
export function useToolsChat({ model, backend, params }: { model: string; backend?: string; params: Record<string, unknown> }) {
  const [enabled, setEnabled] = useState(false);
  const [drafts, setDrafts] = useState<ToolDraft[]>([EXAMPLE_TOOL]);
  const [choice, setChoice] = useState<string>("auto");
  const [keepChoice, setKeepChoice] = useState(false);
  const [schema, setSchema] = useState("");
  const [messages, setMessages] = useState<ToolMessage[]>([]);
  const [live, setLive] = useState<ToolMessage | null>(null);
  const stream = useStreamingRun<ChunkAssembler>((a) => setLive(a.message()));
  const built = buildTools(drafts);

  async function run(history: ToolMessage[]) {
    let responseFormat: unknown;
    try {
      responseFormat = schemaFormat(schema);
    } catch (err) {
      stream.setError(new Error(`The output schema is not JSON: ${(err as Error).message}`));
      return;
    }
    if (built.error) {
      stream.setError(new Error(built.error));
      return;
    }
    setMessages(history);
    await stream.start(
      ({ signal, update }) => {
        const body: Record<string, unknown> = { model, messages: history, ...params };
        if (backend) body.backend = backend;
        if (built.tools.length)
          Object.assign(body, { tools: built.tools, tool_choice: turnToolChoice(toolChoiceOf(choice), history, keepChoice) });
        if (responseFormat) body.response_format = responseFormat;
        return streamChat(body, update, signal);
      },
      (end) => {
        if (end.status === "done") setMessages([...history, end.value.message()]);
        setLive(null);
      },
    );
  }

  return {
    enabled,
    setEnabled,
    drafts,
    setDrafts,
    choice,
    setChoice,
    keepChoice,
    setKeepChoice,
    schema,
    setSchema,
    builtError: built.error,
    messages,
    live,
    busy: stream.busy,
    error: stream.error,
    send: (text: string) => void run([...messages, { role: "user", content: text }]),
    /** A tool's result; the next turn runs once every pending call has one. */
    submitResult: (callId: string, text: string) => {
      const next = [...messages, { role: "tool" as const, tool_call_id: callId, content: text }];
      if (pendingCalls(next).length) setMessages(next);
      else void run(next);
    },
    stop: stream.stop,
    clear: () => setMessages([]),
  };
}

export type ToolsChat = ReturnType<typeof useToolsChat>;

/** The tools settings as a collapsible panel: on/off, functions, tool_choice, output schema. */
export function ToolsPanel({ tools }: { tools: ToolsChat }) {
  const [open, setOpen] = useState(false);
  const { drafts, setDrafts } = tools;
  const forced = tools.choice !== "auto" && tools.choice !== "none";
  return (
    <Card data-testid="tools-playground">
      <CardContent className="space-y-3 pt-4">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <button
            type="button"
            className="flex items-center gap-1 text-sm font-semibold"
            aria-expanded={open}
            aria-controls="tools-settings"
            onClick={() => setOpen(!open)}
          >
            {open ? <ChevronDown className="size-4" /> : <ChevronRight className="size-4" />}
            <Wrench className="size-4" /> Tools and structured output
          </button>
          <div className="flex items-center gap-2">
            <Switch id="tools-on" checked={tools.enabled} onCheckedChange={(on) => {
              tools.setEnabled(on);
              if (on) setOpen(true);
            }} />
            <Label htmlFor="tools-on" className="text-sm">
              Use tools
            </Label>
          </div>
        </div>
        {tools.enabled && !open && (
          <p className="text-xs text-muted-foreground">
            On: the message box sends to /v1/chat/completions with {drafts.length} function{drafts.length === 1 ? "" : "s"}, tool_choice{" "}
            {tools.choice}; these chats are not stored.
          </p>
        )}
        {open && (
          <div id="tools-settings" className="space-y-3">
            <p className="text-xs text-muted-foreground">
              With tools on, the message box below sends to <code>/v1/chat/completions</code> with these functions (a tools chat is
              not stored); the model&apos;s calls show as cards where you type each result.
            </p>
            {drafts.map((d, i) => (
              <div key={i} className="space-y-1 rounded-md border p-2" data-testid="tool-draft">
                <div className="flex gap-2">
                  <Input
                    aria-label={`Tool ${i + 1} name`}
                    value={d.name}
                    onChange={(e) => setDrafts(drafts.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
                  />
                  <Button variant="ghost" size="sm" aria-label={`Remove tool ${i + 1}`} onClick={() => setDrafts(drafts.filter((_, j) => j !== i))}>
                    <Trash2 />
                  </Button>
                </div>
                <Input
                  aria-label={`Tool ${i + 1} description`}
                  placeholder="What the function does"
                  value={d.description}
                  onChange={(e) => setDrafts(drafts.map((x, j) => (j === i ? { ...x, description: e.target.value } : x)))}
                />
                <Textarea
                  aria-label={`Tool ${i + 1} parameters`}
                  rows={5}
                  className="font-mono text-xs"
                  value={d.parameters}
                  onChange={(e) => setDrafts(drafts.map((x, j) => (j === i ? { ...x, parameters: e.target.value } : x)))}
                />
              </div>
            ))}
            <div className="flex flex-wrap items-end gap-3">
              <Button
                variant="outline"
                size="sm"
                onClick={() => setDrafts([...drafts, { name: "", description: "", parameters: '{"type": "object", "properties": {}}' }])}
              >
                <Plus /> Add function
              </Button>
              <div className="space-y-1">
                <Label htmlFor="tool-choice">tool_choice</Label>
                <NativeSelect id="tool-choice" value={tools.choice} onChange={(e) => tools.setChoice(e.target.value)}>
                  <option value="auto">auto</option>
                  <option value="required">required</option>
                  <option value="none">none</option>
                  {drafts
                    .filter((d) => d.name)
                    .map((d) => (
                      <option key={d.name} value={d.name}>
                        {d.name}
                      </option>
                    ))}
                </NativeSelect>
              </div>
              <label className="flex items-center gap-2 text-xs">
                <input type="checkbox" checked={tools.keepChoice} onChange={(e) => tools.setKeepChoice(e.target.checked)} />
                Keep it after tool results
              </label>
            </div>
            <p className="text-xs text-muted-foreground" data-testid="tool-choice-note">
              {forced && !tools.keepChoice
                ? `The turn after a tool result uses auto, not ${tools.choice}: a forced choice would make the model call again with the same arguments.`
                : forced
                  ? `Every turn uses ${tools.choice}, also after a tool result (the model will call again).`
                  : `Every turn uses ${tools.choice}.`}
            </p>
            {tools.builtError && <p className="text-xs text-destructive">{tools.builtError}</p>}
            <TextareaField
              id="output-schema"
              label="JSON-schema output (optional)"
              rows={3}
              className="font-mono text-xs"
              placeholder='{"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}'
              value={tools.schema}
              onChange={(e) => tools.setSchema(e.target.value)}
            />
          </div>
        )}
      </CardContent>
    </Card>
  );
}

/** The messages of the tools chat, with a card per tool call (type a result to continue). */
export function ToolsTranscript({ tools }: { tools: ToolsChat }) {
  const pending = pendingCalls(tools.messages);
  const results = new Map(tools.messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m.content ?? ""]));
  const shown = tools.live ? [...tools.messages, tools.live] : tools.messages;
  return (
    <ol className="space-y-2" aria-label="Tool messages" aria-live="polite">
      {shown.length === 0 && (
        <li className="rounded-lg border border-dashed p-6 text-center text-sm text-muted-foreground">
          Tools are on: ask something that needs one of the functions, then press Enter.
        </li>
      )}
      {shown
        .filter((m) => m.role !== "tool")
        .map((m, i) => (
          <li
            key={i}
            data-testid={`tools-turn-${m.role}`}
            className={m.role === "user" ? "ml-8 rounded-lg border bg-secondary/60 p-3" : "mr-8 rounded-lg border p-3"}
          >
            <span className="text-xs font-semibold uppercase text-muted-foreground">{m.role}</span>
            {m.reasoning_content && (
              <p className="whitespace-pre-wrap text-xs italic text-muted-foreground" data-testid="reasoning">
                {m.reasoning_content}
              </p>
            )}
            {m.content && <p className="whitespace-pre-wrap text-sm">{m.content}</p>}
            {(m.tool_calls ?? []).map((c) => (
              <ToolCallCard
                key={c.id || c.function.name}
                call={c}
                busy={tools.busy}
                result={results.get(c.id)}
                onResult={pending.some((p) => p.id === c.id) ? (text) => tools.submitResult(c.id, text) : undefined}
              />
            ))}
          </li>
        ))}
    </ol>
  );
}
