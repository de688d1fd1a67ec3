import { act, renderHook } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { endSession, sessionStore, startSession } from "@/lib/session";

import { clearConversation, conversationStore, reviveConversation, statsFrom } from "@/lib/conversation";
import { reviveSettings, settingsStore, updateSettings, apiUrl, authHeaders, DEFAULT_SETTINGS } from "@/lib/settings";
import { createPersistentStore, useStore } from "@/lib/store";

beforeEach(() => localStorage.clear());

describe("createPersistentStore", () => {
  it("persists to localStorage and notifies subscribers", () => {
    const s = createPersistentStore("t.a", { n: 1 });
    let calls = 0;
    s.subscribe(() => calls++);
    s.set((v) => ({ n: v.n + 1 }));
    expect(s.get()).toEqual({ n: 2 });
    expect(JSON.parse(localStorage.getItem("t.a")!)).toEqual({ n: 2 });
    expect(calls).toBe(1);
    // A new store on the same key (a page reload) reads it back.
    expect(createPersistentStore("t.a", { n: 0 }).get()).toEqual({ n: 2 });
  });

  it("survives corrupt storage and resets", () => {
    localStorage.setItem("t.b", "{not json");
    const s = createPersistentStore("t.b", { ok: true });
    expect(s.get()).toEqual({ ok: true });
    s.set({ ok: false });
    s.reset();
    expect(s.get()).toEqual({ ok: true });
    expect(localStorage.getItem("t.b")).toBeNull();
  });

  it("useStore re-renders on change", () => {
    const s = createPersistentStore("t.c", 1);
    const { result } = renderHook(() => useStore(s));
    expect(result.current).toBe(1);
    act(() => s.set(5));
    expect(result.current).toBe(5);
  });
});

describe("settings", () => {
  it("revives partial settings and trims the API base", () => {
    const s = reviveSettings({ apiBase: "http://h:1///", theme: "dark", defaults: { temperature: 0.1 } });
    expect(s.apiBase).toBe("http://h:1");
    expect(s.theme).toBe("dark");
    expect(s.defaults.temperature).toBe(0.1);
    expect("apiKey" in s).toBe(false); // keys are never stored: only a session token is
  });

  it("builds URLs from the settings and auth headers from the session token", () => {
    settingsStore.set(DEFAULT_SETTINGS);
    endSession();
    expect(apiUrl("/api/v1/health")).toBe("/api/v1/health");
    expect(authHeaders()).toEqual({});
    updateSettings({ apiBase: "http://x:9/" });
    startSession("sess-xyz", Date.now() / 1000 + 60, "ui", false);
    expect(apiUrl("/api/v1/health")).toBe("http://x:9/api/v1/health");
    expect(authHeaders()).toEqual({ Authorization: "Bearer sess-xyz" });
    expect(globalThis.sessionStorage.getItem("mp.session")).toContain("sess-xyz");
    expect(globalThis.localStorage.getItem("mp.settings") ?? "").not.toContain("sess-xyz");
    // An expired token is not sent.
    startSession("old", Date.now() / 1000 - 1, "ui", false);
    expect(authHeaders()).toEqual({});
    endSession(true);
    expect(sessionStore.get()).toMatchObject({ token: "", expired: true });
  });
});

describe("conversation", () => {
  it("keeps valid turns only and clears", () => {
    const c = reviveConversation({ mode: "chat", model: "tiny", turns: [{ role: "user", content: "hi" }, { role: "robot", content: 1 }] });
    expect(c.turns).toEqual([{ role: "user", content: "hi" }]);
    conversationStore.set({ ...c, completion: "x" });
    clearConversation();
    expect(conversationStore.get().turns).toEqual([]);
    expect(conversationStore.get().completion).toBe("");
    expect(conversationStore.get().model).toBe("tiny");
  });

  it("takes figures from a GenerateResponse", () => {
    const stats = statsFrom({
      id: "1",
      model: "tiny",
      text: "x",
      finish_reason: "length",
      usage: { prompt_tokens: 3, completion_tokens: 8, total_tokens: 11 },
      timings: { ttft_ms: 12, tokens_per_second: 40, total_ms: 200, load_ms: 0, backend: "transformers", backend_reason: "auto" },
    });
    expect(stats).toMatchObject({ ttft_ms: 12, tokens_per_second: 40, completion_tokens: 8, backend: "transformers", finish_reason: "length" });
  });
});
