import { toApiError } from "@/lib/errors";
import { eventJson, streamEvents } from "@/lib/stream";

/** A function the model may call, as the user typed it (parameters as JSON text). */
export interface ToolDraft {
  name: string;
  description: string;
  parameters: string;
}

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** One message of a tools conversation, in OpenAI's shape. */
export interface ToolMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  reasoning_content?: string | null;
}

export type ToolChoice = "auto" | "required" | "none" | { type: "function"; function: { name: string } };

export const EXAMPLE_TOOL: ToolDraft = {
  name: "get_weather",
  description: "Weather forecast for a city",
  parameters: JSON.stringify(
    {
      type: "object",
      properties: {
        city: { type: "string", maxLength: 24 },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["city", "unit"],
    },
    null,
    2,
  ),
};

/** The drafts as OpenAI tool definitions, or the first problem found (shown to the user). */
export function buildTools(drafts: ToolDraft[]): { tools: unknown[]; error: string | null } {
  const tools: unknown[] = [];
  const seen = new Set<string>();
  for (const [i, d] of drafts.entries()) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(d.name)) return { tools: [], error: `Tool ${i + 1}: the name must be 1-64 letters, digits, _ or -.` };
    if (seen.has(d.name)) return { tools: [], error: `Two tools are named ${d.name}.` };
    seen.add(d.name);
    let parameters: unknown;
    try {
      parameters = JSON.parse(d.parameters || "{}");
    } catch (err) {
      return { tools: [], error: `Tool ${d.name}: parameters are not JSON (${(err as Error).message}).` };
    }
    if (!parameters || typeof parameters !== "object" || Array.isArray(parameters))
      return { tools: [], error: `Tool ${d.name}: parameters must be a JSON schema object.` };
    tools.push({ type: "function", function: { name: d.name, description: d.description, parameters } });
  }
  return { tools, error: null };
}

/** Parses a JSON-schema text for response_format; null when empty. Throws on bad JSON. */
export function schemaFormat(text: string): unknown {
  if (!text.trim()) return null;
  const schema = JSON.parse(text);
  return { type: "json_schema", json_schema: { name: "output", schema, strict: true } };
}

interface ChunkDelta {
  content?: string | null;
  reasoning_content?: string | null;
  tool_calls?: { index: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
}

/** Assembles streamed chat chunks into one assistant message, as the OpenAI SDK does. */
export class ChunkAssembler {
  content = "";
  reasoning = "";
  calls: ToolCall[] = [];
  finish: string | null = null;

  add(chunk: { choices?: { delta?: ChunkDelta; finish_reason?: string | null }[] }): void {
    for (const choice of chunk.choices ?? []) {
      const d = choice.delta ?? {};
      if (d.content) this.content += d.content;
      if (d.reasoning_content) this.reasoning += d.reasoning_content;
      for (const piece of d.tool_calls ?? []) {
        const call = (this.calls[piece.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
        if (piece.id) call.id = piece.id;
        if (piece.function?.name) call.function.name = piece.function.name;
        if (piece.function?.arguments) call.function.arguments += piece.function.arguments;
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
  }

  message(): ToolMessage {
    const msg: ToolMessage = { role: "assistant", content: this.content || null };
    if (this.calls.length) msg.tool_calls = this.calls;
    if (this.reasoning) msg.reasoning_content = this.reasoning;
    return msg;
  }
}

/** Streams POST /v1/chat/completions; onUpdate gets the assembler after every chunk. */
export async function streamChat(
  body: Record<string, unknown>,
  onUpdate: (a: ChunkAssembler) => void,
  signal?: AbortSignal,
): Promise<ChunkAssembler> {
  const assembler = new ChunkAssembler();
  for await (const ev of streamEvents("/v1/chat/completions", { body: { ...body, stream: true }, signal })) {
    if (ev.data === "[DONE]") break;
    const data = eventJson<Record<string, unknown>>(ev);
    if (data.error) throw toApiError(data);
    assembler.add(data as Parameters<ChunkAssembler["add"]>[0]);
    onUpdate(assembler);
  }
  return assembler;
}

/** Tool calls of the conversation that no tool message answers yet. */
export function pendingCalls(messages: ToolMessage[]): ToolCall[] {
  const answered = new Set(messages.filter((m) => m.role === "tool").map((m) => m.tool_call_id));
  return messages.flatMap((m) => m.tool_calls ?? []).filter((c) => !answered.has(c.id));
}

/** The tool_choice the user picked in the panel (a function name forces that function). */
export function toolChoiceOf(choice: string): ToolChoice {
  return choice === "auto" || choice === "required" || choice === "none" ? choice : { type: "function", function: { name: choice } };
}

/**
 * The tool_choice to send for the next turn. After a tool result, a forced choice ("required" or
 * one function) would make the model call again with the same arguments, for ever: the turn that
 * answers a tool result uses "auto" instead, as OpenAI's agents SDK does with
 * `reset_tool_choice`, unless `keep` says the user wants the forced choice on every turn.
 */
export function turnToolChoice(choice: ToolChoice, history: ToolMessage[], keep = false): ToolChoice {
  const forced = choice === "required" || typeof choice === "object";
  const afterResult = history[history.length - 1]?.role === "tool";
  return forced && afterResult && !keep ? "auto" : choice;
}
