import { useRef, useState } from "react";
import { Plus, Send, Trash2 } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { ToolCallCard } from "@/components/tools/ToolCallCard";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Textarea } from "@/components/ui/textarea";
import {
  EXAMPLE_TOOL,
  buildTools,
  pendingCalls,
  schemaFormat,
  streamChat,
  type ToolChoice,
  type ToolDraft,
  type ToolMessage,
} from "@/lib/tools";

/**
 * Tools and structured output on /v1/chat/completions: define functions as JSON schema, see the
 * model's calls as cards, answer them with a typed result and continue; or constrain the whole
 * answer to a JSON schema.
 */
export function ToolsPlayground({ model, backend, params }: { model: string; backend?: string; params: Record<string, unknown> }) {
  const [drafts, setDrafts] = useState<ToolDraft[]>([EXAMPLE_TOOL]);
  const [choice, setChoice] = useState<string>("auto");
  const [schema, setSchema] = useState("");
  const [messages, setMessages] = useState<ToolMessage[]>([]);
  const [live, setLive] = useState<ToolMessage | null>(null);
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const abortRef = useRef<AbortController | null>(null);

  const built = buildTools(drafts);

  async function send(history: ToolMessage[]) {
    let responseFormat: unknown;
    try {
      responseFormat = schemaFormat(schema);
    } catch (err) {
      setError(new Error(`The output schema is not JSON: ${(err as Error).message}`));
      return;
    }
    if (built.error) {
      setError(new Error(built.error));
      return;
    }
    const toolChoice: ToolChoice =
      choice === "auto" || choice === "required" || choice === "none" ? choice : { type: "function", function: { name: choice } };
    setMessages(history);
    setBusy(true);
    setError(null);
    const controller = new AbortController();
    abortRef.current = controller;
    try {
      const body: Record<string, unknown> = { model, messages: history, ...params };
      if (backend) body.backend = backend;
      if (built.tools.length) Object.assign(body, { tools: built.tools, tool_choice: toolChoice });
      if (responseFormat) body.response_format = responseFormat;
      const result = await streamChat(body, (a) => setLive(a.message()), controller.signal);
      setMessages([...history, result.message()]);
    } catch (err) {
      setError(err);
    } finally {
      setLive(null);
      setBusy(false);
      abortRef.current = null;
    }
  }

  const pending = pendingCalls(messages);
  const results = new Map(messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m.content ?? ""]));
  const shown = live ? [...messages, live] : messages;

  return (
    <Card data-testid="tools-playground">
      <CardContent className="space-y-3 pt-6">
        <h2 className="text-sm font-semibold">Tools and structured output</h2>
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
        <div className="flex flex-wrap items-end gap-2">
          <Button variant="outline" size="sm" onClick={() => setDrafts([...drafts, { name: "", description: "", parameters: '{"type": "object", "properties": {}}' }])}>
            <Plus /> Add function
          </Button>
          <div className="space-y-1">
            <Label htmlFor="tool-choice">tool_choice</Label>
            <NativeSelect id="tool-choice" value={choice} onChange={(e) => setChoice(e.target.value)}>
              <option value="auto">auto</option>
              <option value="required">required</option>
              <option value="none">none</option>
              {drafts.filter((d) => d.name).map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name}
                </option>
              ))}
            </NativeSelect>
          </div>
        </div>
        {built.error && <p className="text-xs text-destructive">{built.error}</p>}
        <div className="space-y-1">
          <Label htmlFor="output-schema">JSON-schema output (optional)</Label>
          <Textarea
            id="output-schema"
            rows={3}
            className="font-mono text-xs"
            placeholder='{"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}'
            value={schema}
            onChange={(e) => setSchema(e.target.value)}
          />
        </div>

        <ol className="space-y-2" aria-label="Tool messages">
          {shown
            .filter((m) => m.role !== "tool")
            .map((m, i) => (
              <li key={i} data-testid={`tools-turn-${m.role}`} className="rounded-lg border p-2">
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
                    busy={busy}
                    result={results.get(c.id)}
                    onResult={
                      pending.some((p) => p.id === c.id)
                        ? (text) => {
                            const next = [...messages, { role: "tool" as const, tool_call_id: c.id, content: text }];
                            if (pendingCalls(next).length) setMessages(next);
                            else void send(next);
                          }
                        : undefined
                    }
                  />
                ))}
              </li>
            ))}
        </ol>
        <ErrorAlert error={error} title="Request failed" />
        <form
          className="flex items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            if (!input.trim() || busy || !model) return;
            const next = [...messages, { role: "user" as const, content: input.trim() }];
            setInput("");
            void send(next);
          }}
        >
          <Textarea aria-label="Tools message" rows={1} placeholder="Ask something that needs a tool…" value={input} onChange={(e) => setInput(e.target.value)} />
          {busy ? (
            <Button type="button" variant="destructive" onClick={() => abortRef.current?.abort()}>
              Cancel
            </Button>
          ) : (
            <Button type="submit" disabled={!model || !input.trim()}>
              <Send /> Run with tools
            </Button>
          )}
          <Button type="button" variant="ghost" onClick={() => setMessages([])} disabled={busy || !messages.length}>
            Clear tools chat
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
