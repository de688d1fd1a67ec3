import fs from "node:fs";

import type { Page } from "@playwright/test";

import { API, expect, shot, test } from "./fixtures";

interface StoredMessage {
  id: string;
  role: string;
  content: string;
  model: string | null;
  finish_reason: string | null;
  figures: { completion_tokens: number | null } | null;
}
interface StoredConversation {
  id: string;
  title: string;
  messages: StoredMessage[];
}

async function stored(page: Page): Promise<StoredConversation> {
  const id = await page.evaluate(() => JSON.parse(localStorage.getItem("mp.conversation") ?? "{}").conversationId as string);
  expect(id, "the page remembers which conversation is open").toMatch(/^conv_/);
  const res = await fetch(`${API()}/api/v1/conversations/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as StoredConversation;
}

async function waitIdle(page: Page) {
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page.getByTestId("turn-assistant").last().locator('[data-figure="finish"]')).toBeVisible();
}

async function send(page: Page, text: string) {
  const answers = await page.getByTestId("turn-assistant").count();
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("turn-assistant")).toHaveCount(answers + 1);
  await waitIdle(page);
}

// Works with whatever model the Playground preselects (the bundled default model or the tiny
// demo model): it checks behaviour (text streamed, messages stored), never the words.
test("conversations: stream, reload from the server, continue, regenerate, edit, export", async ({ page }) => {
  await page.goto("/");
  const model = page.getByLabel("Model", { exact: true });
  await expect(model).not.toHaveValue("");
  const modelId = await model.inputValue();
  // A long first answer, so it visibly streams (with the tiny model these settings run to
  // max_tokens; any instruct model writes a paragraph).
  await page.getByLabel("Max tokens").fill("200");
  await page.getByLabel("Temperature").fill("2");
  await page.getByLabel("Seed").fill("3");

  // The first answer streams: the reply's text grows over several renders.
  await page.evaluate(() => {
    const w = window as unknown as { __lengths: number[] };
    w.__lengths = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="assistant-text"]');
      const len = el?.textContent?.replace("…", "").length ?? 0;
      if (len && w.__lengths[w.__lengths.length - 1] !== len) w.__lengths.push(len);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await send(page, "Write a Python function that adds two numbers.");
  const lengths = await page.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths);
  expect(new Set(lengths).size, `reply grew in steps: ${lengths.join(",")}`).toBeGreaterThanOrEqual(2);
  const first = page.getByTestId("turn-assistant").last();
  await expect(first.locator('[data-figure="tokens"]')).not.toHaveText("0");

  // Stored on the server with the model and the figures; listed in the sidebar by its title.
  let conv = await stored(page);
  expect(conv.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
  expect(conv.messages[1].model).toBe(modelId);
  expect(conv.messages[1].figures?.completion_tokens).toBeGreaterThan(0);
  expect(conv.messages[1].content.length).toBeGreaterThan(0);
  const sidebar = page.getByRole("navigation", { name: "Conversations" });
  await expect(sidebar.getByRole("button", { name: conv.title, exact: true })).toHaveAttribute("aria-current", "true");

  // A reload restores the conversation from the server: the local copy of the turns is wiped.
  await page.evaluate(() => {
    const c = JSON.parse(localStorage.getItem("mp.conversation") ?? "{}");
    localStorage.setItem("mp.conversation", JSON.stringify({ ...c, turns: [] }));
  });
  await page.reload();
  await expect(page.getByTestId("turn-user")).toHaveText(/adds two numbers/);
  await expect(page.getByTestId("turn-assistant").getByTestId("assistant-text")).toHaveText(/\S/);
  await expect(page.getByTestId("turn-assistant").locator('[data-figure="tokens"]')).toHaveText(
    String(conv.messages[1].figures?.completion_tokens),
  );

  // Continue the same conversation after the reload.
  await page.getByLabel("Max tokens").fill("32");
  await page.getByLabel("Temperature").fill("0.7");
  await send(page, "And one more?");
  await expect(page.getByTestId("turn-user")).toHaveCount(2);
  conv = await stored(page);
  expect(conv.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
  expect(conv.messages[2].content).toBe("And one more?");

  // Regenerate the last answer: a new stored answer replaces it; the rest stays.
  const before = conv.messages[3].id;
  await page.getByLabel("Seed").fill("11");
  await page.getByRole("button", { name: "Regenerate" }).click();
  await waitIdle(page);
  conv = await stored(page);
  expect(conv.messages).toHaveLength(4);
  expect(conv.messages[3].id).not.toBe(before);
  expect(conv.messages[3].content.length).toBeGreaterThan(0);

  // Edit the first message and resend: later messages are dropped, a new answer follows.
  await page.getByTestId("turn-user").first().getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Edit message").fill("Name two planets.");
  await page.getByRole("button", { name: "Save & resend" }).click();
  await waitIdle(page);
  await expect(page.getByTestId("turn-user")).toHaveCount(1);
  await expect(page.getByTestId("turn-user")).toHaveText(/two planets/);
  conv = await stored(page);
  expect(conv.messages.map((m) => [m.role, m.role === "user" ? m.content : ""])).toEqual([
    ["user", "Name two planets."],
    ["assistant", ""],
  ]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "playground-conversations");

  // Export as Markdown and JSON (downloads).
  const [md] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Markdown" }).click()]);
  expect(md.suggestedFilename()).toMatch(/\.md$/);
  const [json] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "JSON" }).click()]);
  expect(json.suggestedFilename()).toMatch(/\.json$/);
  const exported = JSON.parse(fs.readFileSync(await json.path(), "utf8")) as StoredConversation;
  expect(exported.messages.map((m) => m.id)).toEqual(conv.messages.map((m) => m.id));
});

test("conversation sidebar: new, switch, search, rename, delete", async ({ page }) => {
  page.on("dialog", (d) => void d.accept());
  await page.goto("/");
  await expect(page.getByLabel("Model", { exact: true })).not.toHaveValue("");
  await page.getByLabel("Max tokens").fill("8");
  await send(page, "Sidebar alpha question");
  const alpha = await stored(page);
  await page.getByRole("button", { name: "New chat" }).first().click();
  await expect(page.getByTestId("turn-user")).toHaveCount(0);
  await send(page, "Sidebar beta question");
  const beta = await stored(page);
  expect(beta.id).not.toBe(alpha.id);

  const sidebar = page.getByRole("navigation", { name: "Conversations" });
  await sidebar.getByRole("button", { name: alpha.title, exact: true }).click();
  await expect(page.getByTestId("turn-user")).toHaveText(/alpha/);

  await sidebar.getByLabel("Search conversations").fill("beta");
  await expect(sidebar.getByRole("button", { name: beta.title, exact: true })).toBeVisible();
  await expect(sidebar.getByRole("button", { name: alpha.title, exact: true })).toHaveCount(0);
  await sidebar.getByLabel("Search conversations").fill("");

  await sidebar.getByRole("button", { name: `Rename ${alpha.title}` }).click();
  await sidebar.getByLabel("Conversation title").fill("Renamed alpha");
  await sidebar.getByRole("button", { name: "Save title" }).click();
  await expect(sidebar.getByRole("button", { name: "Renamed alpha", exact: true })).toBeVisible();
  expect((await stored(page)).title).toBe("Renamed alpha");

  await sidebar.getByRole("button", { name: "Delete Renamed alpha" }).click();
  await expect(sidebar.getByRole("button", { name: "Renamed alpha", exact: true })).toHaveCount(0);
  expect((await fetch(`${API()}/api/v1/conversations/${alpha.id}`)).status).toBe(404);
  await expect(page.getByTestId("turn-user")).toHaveCount(0); // the open one was deleted: new chat
});

/** A long answer on the tiny model: at temperature 2 with seed 3 it runs to max_tokens. */
async function longAnswerSetup(page: Page, maxTokens: number) {
  await page.goto("/");
  await page.getByLabel("Model", { exact: true }).selectOption("tiny");
  await page.getByLabel("Max tokens").fill(String(maxTokens));
  await page.getByLabel("Temperature").fill("2");
  await page.getByLabel("Seed").fill("3");
}

test("Enter sends, Shift+Enter is a new line; a stopped answer shows its figures and is the same after a reload", async ({ page }) => {
  await longAnswerSetup(page, 1000);
  const box = page.getByLabel("Message", { exact: true });
  await box.fill("Write a class");
  await box.press("Shift+Enter");
  await box.pressSequentially("with two methods.");
  await expect(box).toHaveValue("Write a class\nwith two methods.");
  await expect(page.getByTestId("turn-user")).toHaveCount(0); // Shift+Enter did not send
  await box.press("Enter");
  await expect(page.getByTestId("turn-user")).toContainText("Write a class\nwith two methods.");
  await expect(box).toHaveValue("");

  const reply = page.getByTestId("turn-assistant").last();
  await expect(reply.getByTestId("assistant-text").locator(".markdown")).not.toBeEmpty();
  // Stop stays in view beside the message box while the answer streams.
  const stop = page.getByRole("button", { name: "Stop" });
  await expect(stop).toBeInViewport();
  await stop.click();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(reply.locator('[data-figure="finish"]')).toHaveText("stopped");
  // The figures show at once, not only after a reload.
  await expect(reply.locator('[data-figure="ttft"]')).toHaveText(/\d/);
  await expect(reply.locator('[data-figure="speed"]')).toHaveText(/tok\/s/);
  const shown = {
    text: await reply.getByTestId("assistant-text").innerText(),
    tokens: await reply.locator('[data-figure="tokens"]').innerText(),
    ttft: await reply.locator('[data-figure="ttft"]').innerText(),
    speed: await reply.locator('[data-figure="speed"]').innerText(),
  };
  const saved = (await stored(page)).messages[1];
  expect(saved.finish_reason).toBe("cancelled");
  expect(String(saved.figures?.completion_tokens)).toBe(shown.tokens);
  expect(Number(shown.tokens)).toBeLessThan(1000);

  await page.reload();
  const after = page.getByTestId("turn-assistant").last();
  await expect(after.locator('[data-figure="finish"]')).toHaveText("stopped");
  expect({
    text: await after.getByTestId("assistant-text").innerText(),
    tokens: await after.locator('[data-figure="tokens"]').innerText(),
    ttft: await after.locator('[data-figure="ttft"]').innerText(),
    speed: await after.locator('[data-figure="speed"]').innerText(),
  }).toEqual(shown);
});

test("a reload mid-answer re-attaches: the answer completes in the page", async ({ page }) => {
  await longAnswerSetup(page, 1000); // the tiny model's context is 1024 tokens
  await page.getByLabel("Message", { exact: true }).fill("Write a class");
  await page.getByRole("button", { name: "Send" }).click();
  const reply = page.getByTestId("turn-assistant").last();
  await expect(reply.getByTestId("assistant-text").locator(".markdown")).not.toBeEmpty();
  // Before, the dropped connection cancelled the answer: it was saved as stopped.
  await page.reload();
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible(); // still being written
  const after = page.getByTestId("turn-assistant").last();
  await expect(after.locator('[data-figure="finish"]')).toHaveText("length", { timeout: 120_000 });
  await expect(after.locator('[data-figure="tokens"]')).toHaveText("1000");
  const saved = (await stored(page)).messages;
  expect(saved.map((m) => m.role)).toEqual(["user", "assistant"]);
  expect(saved[1].finish_reason).toBe("length");
  // What the page holds is the stored answer, whole.
  const shown = await page.evaluate(() => JSON.parse(localStorage.getItem("mp.conversation") ?? "{}").turns[1].content as string);
  expect(shown).toBe(saved[1].content);
});
