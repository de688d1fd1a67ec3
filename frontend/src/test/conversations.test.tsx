import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ConversationItem } from "@/components/conversations/ConversationSidebar";
import { MessageList } from "@/components/conversations/MessageList";
import { attachTurns, pendingTurns } from "@/components/conversations/useConversationChat";
import type { Turn } from "@/lib/conversation";
import { statsOf, streamAnswer, toTurn, type StoredMessage } from "@/lib/conversations";

const answer: StoredMessage = {
  id: "msg_a",
  role: "assistant",
  content: "Hello",
  created_at: 1,
  model: "tiny",
  backend: "transformers",
  parameters: { max_tokens: 8 },
  finish_reason: "cancelled",
  figures: { ttft_ms: 12, tokens_per_second: 30, prompt_tokens: 5, completion_tokens: 3, total_ms: 80 },
};

const turns: Turn[] = [
  { id: "u1", role: "user", content: "first" },
  { id: "a1", role: "assistant", content: "one" },
  { id: "u2", role: "user", content: "second" },
  { id: "a2", role: "assistant", content: "two" },
];

describe("conversation logic", () => {
  it("maps a stored answer to a turn with its figures; a client stop reads 'stopped'", () => {
    const t = toTurn(answer);
    expect(t).toMatchObject({ id: "msg_a", role: "assistant", content: "Hello" });
    expect(t.stats).toMatchObject({ ttft_ms: 12, completion_tokens: 3, backend: "transformers", finish_reason: "stopped" });
    expect(statsOf({ ...answer, role: "user" })).toBeUndefined();
  });

  it("pending turns mirror what the server will store", () => {
    expect(pendingTurns(turns, { kind: "send", content: "third" }).map((t) => t.content)).toEqual([
      "first", "one", "second", "two", "third", "",
    ]);
    expect(pendingTurns(turns, { kind: "regenerate" }).map((t) => t.content)).toEqual(["first", "one", "second", ""]);
    expect(pendingTurns(turns, { kind: "edit", messageId: "u1", content: "changed" }).map((t) => t.content)).toEqual([
      "changed", "",
    ]);
  });

  it("streamAnswer reads message, token and done events from the right route", async () => {
    const body = [
      'event: message\ndata: {"id":"msg_u","role":"user","content":"hi","created_at":1}\n\n',
      'event: token\ndata: {"text":"Hel"}\n\n',
      'event: token\ndata: {"text":"lo"}\n\n',
      `event: done\ndata: ${JSON.stringify(answer)}\n\n`,
    ].join("");
    const fetchMock = vi.fn(async () => new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } }));
    vi.stubGlobal("fetch", fetchMock);
    const texts: string[] = [];
    const users: string[] = [];
    const done = await streamAnswer(
      "conv_1",
      { kind: "edit", messageId: "msg_u", content: "hi" },
      { max_tokens: 8 },
      { onUser: (m) => users.push(m.id), onText: (t) => texts.push(t) },
    );
    vi.unstubAllGlobals();
    expect(done).toEqual({ kind: "done", message: answer });
    expect(texts).toEqual(["Hel", "Hello"]);
    expect(users).toEqual(["msg_u"]);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toMatch(/\/api\/v1\/conversations\/conv_1\/messages\/msg_u$/);
    expect(init.method).toBe("PUT");
    expect(JSON.parse(init.body as string)).toMatchObject({ content: "hi", stream: true, max_tokens: 8 });
  });

  it("streamAnswer resumes a dropped stream from the last event id, and ends at stopped", async () => {
    const enc = new TextEncoder();
    // The first connection breaks after two pieces (a reset while reading).
    const chunks = [
      'event: message\nid: 0\ndata: {"id":"u","role":"user","content":"hi","created_at":1}\n\n',
      'event: token\nid: 3\ndata: {"text":"Hel"}\n\nevent: token\nid: 5\ndata: {"text":"lo"}\n\n',
    ];
    const broken = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(enc.encode(next));
        else c.error(new TypeError("network error"));
      },
    });
    const rest = 'event: token\nid: 6\ndata: {"text":"!"}\n\nevent: stopped\ndata: {}\n\n';
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(new Response(broken, { status: 200 }))
      .mockResolvedValueOnce(new Response(rest, { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const texts: string[] = [];
    const end = await streamAnswer("c1", { kind: "send", content: "hi" }, {}, { onText: (t) => texts.push(t) });
    vi.unstubAllGlobals();
    expect(end).toEqual({ kind: "stopped" });
    expect(texts).toEqual(["Hel", "Hello", "Hello!"]);
    const [url, init] = fetchMock.mock.calls[1] as unknown as [string, RequestInit];
    expect(url).toMatch(/\/api\/v1\/conversations\/c1\/stream$/);
    expect((init.headers as Record<string, string>)["Last-Event-ID"]).toBe("5");
    expect(init.method).toBe("GET");
  });

  it("attaching turns replace a trailing answer (regenerate) or add one", () => {
    expect(attachTurns(turns).map((t) => t.content)).toEqual(["first", "one", "second", ""]);
    expect(attachTurns(turns.slice(0, 3)).map((t) => t.content)).toEqual(["first", "one", "second", ""]);
  });

  it("streamAnswer throws the server's error event", async () => {
    const body = 'event: error\ndata: {"error":{"message":"model gone","type":"not_found_error"}}\n\n';
    vi.stubGlobal("fetch", vi.fn(async () => new Response(body, { status: 200 })));
    await expect(streamAnswer("c", { kind: "regenerate" }, {}, { onText: () => {} })).rejects.toThrow("model gone");
    vi.unstubAllGlobals();
  });
});

describe("MessageList", () => {
  it("offers regenerate on the last answer and edit-and-resend on user messages", async () => {
    const onRegenerate = vi.fn();
    const onEdit = vi.fn();
    render(<MessageList turns={turns} busy={false} liveTokens={0} onRegenerate={onRegenerate} onEdit={onEdit} />);
    expect(screen.getAllByRole("button", { name: "Regenerate" })).toHaveLength(1);
    await userEvent.click(screen.getByRole("button", { name: "Regenerate" }));
    expect(onRegenerate).toHaveBeenCalledOnce();

    await userEvent.click(screen.getAllByRole("button", { name: "Edit" })[0]);
    const box = screen.getByLabelText("Edit message");
    expect(box).toHaveValue("first");
    await userEvent.clear(box);
    await userEvent.type(box, "better first");
    await userEvent.click(screen.getByRole("button", { name: "Save & resend" }));
    expect(onEdit).toHaveBeenCalledWith("u1", "better first");
  });

  it("hides regenerate and disables edit while an answer streams", () => {
    render(<MessageList turns={turns} busy liveTokens={4} onRegenerate={() => {}} onEdit={() => {}} />);
    expect(screen.queryByRole("button", { name: "Regenerate" })).toBeNull();
    for (const b of screen.getAllByRole("button", { name: "Edit" })) expect(b).toBeDisabled();
  });
});

describe("ConversationItem", () => {
  const summary = {
    id: "conv_1", title: "Parser notes", model: "tiny", backend: null, system: null,
    created_at: 1, updated_at: 2, message_count: 2, generating: false,
  };

  it("opens, renames and deletes", async () => {
    const onOpen = vi.fn();
    const onRename = vi.fn();
    const onDelete = vi.fn();
    vi.stubGlobal("confirm", () => true);
    render(
      <ul>
        <ConversationItem conversation={summary} current busy={false} onOpen={onOpen} onRename={onRename} onDelete={onDelete} />
      </ul>,
    );
    const open = screen.getByRole("button", { name: "Parser notes" });
    expect(open).toHaveAttribute("aria-current", "true");
    await userEvent.click(open);
    expect(onOpen).toHaveBeenCalledOnce();
    await userEvent.click(screen.getByRole("button", { name: "Rename Parser notes" }));
    const input = screen.getByLabelText("Conversation title");
    await userEvent.clear(input);
    await userEvent.type(input, "Lexer{Enter}");
    expect(onRename).toHaveBeenCalledWith("Lexer");
    await userEvent.click(screen.getByRole("button", { name: "Delete Parser notes" }));
    expect(onDelete).toHaveBeenCalledOnce();
    vi.unstubAllGlobals();
  });
});
