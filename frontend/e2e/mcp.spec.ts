import path from "node:path";

import { API, expect, shot, test } from "./fixtures";

// The test MCP server of the backend tests (the official SDK's, over stdio), started by the
// playground with the project's Python: tools add, lookup, sleep, fail and big.
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const PYTHON = path.join(ROOT, ".venv", "bin", "python");
const FIXTURE = path.join(ROOT, "backend", "tests", "mcp", "fixture_server.py");
const FACT = "Paris is the capital of France; the Eiffel Tower was finished in 1889.";

test.afterEach(async () => {
  await fetch(`${API()}/api/v1/mcp/servers/facts`, { method: "DELETE" });
});

test("MCP: add a server in Settings, use its tools in the Playground, approve a call", async ({ page }) => {
  // Settings: add the server (stdio, ask before each call), test it, see its tools, save.
  await page.goto("/settings");
  const card = page.getByTestId("mcp-servers");
  await expect(card.getByText("No MCP server yet.")).toBeVisible();
  await card.getByRole("button", { name: "Add server" }).click();
  await page.getByLabel("Name", { exact: true }).fill("facts");
  await page.getByLabel("Command").fill(PYTHON);
  await page.getByLabel("Arguments (one per line)").fill(FIXTURE);
  await page.getByLabel(/^Environment/).fill("FACTS_TOKEN=s3cret");
  await page.getByLabel("Tool calls").selectOption("ask");
  await card.getByRole("button", { name: "Test connection" }).click();
  const listing = card.getByTestId("mcp-tool-listing");
  await expect(listing).toContainText("lookup");
  await expect(listing).toContainText("add");
  await listing.scrollIntoViewIfNeeded();
  await shot(page, "mcp-settings-test");
  await card.getByRole("button", { name: "Save" }).click();
  const row = card.getByTestId("mcp-server-facts");
  await expect(row).toContainText("stdio");
  await expect(row).toContainText("ask");
  // Its tools (connecting it), then the status reads connected.
  await row.getByRole("button", { name: "Tools of facts" }).click();
  await expect(card.getByText("Tools of facts")).toBeVisible();
  await expect(card.getByTestId("mcp-tool-listing")).toContainText("lookup");
  // The secret comes back redacted; saving the form unchanged keeps it.
  await row.getByRole("button", { name: "Edit facts" }).click();
  await expect(page.getByLabel(/^Environment/)).toHaveValue("FACTS_TOKEN=********");
  await card.getByRole("button", { name: "Save" }).click();
  await expect(card.getByRole("button", { name: "Add server" })).toBeVisible();
  // Saving reconnects lazily: listing its tools connects it, and the status says so.
  await page.reload();
  const savedRow = page.getByTestId("mcp-server-facts");
  await savedRow.getByRole("button", { name: "Tools of facts" }).click();
  await expect(savedRow.getByText("connected", { exact: true })).toBeVisible();
  await page.getByTestId("mcp-servers").scrollIntoViewIfNeeded();
  await shot(page, "mcp-settings");
  const saved = await (await fetch(`${API()}/api/v1/mcp/servers`)).json();
  expect(saved).toEqual([expect.objectContaining({ name: "facts", env: { FACTS_TOKEN: "********" }, approval: "ask" })]);

  // Playground: the bundled SmolLM2 (on Transformers; quick on a CPU, and an answer that reads
  // as one), the server's tools on, the first round must call lookup.
  await page.goto("/");
  await page.getByLabel("Model", { exact: true }).selectOption("smollm2-135m-instruct");
  // Room for the forced call (some 20-40 tokens) and a short answer.
  await page.getByLabel("Max tokens").fill("64");
  await page.getByLabel("Temperature").fill("0");
  const tools = page.getByTestId("mcp-chat-tools");
  await tools.getByLabel("facts").check();
  await expect(tools.getByTestId("mcp-tool-count")).toContainText("5 tools offered");
  await page.getByLabel("First round").selectOption("lookup");
  await page.getByLabel("Message", { exact: true }).fill("Tell me something about Paris.");
  await page.getByRole("button", { name: "Send" }).click();

  // The call waits for approval: its card shows server, tool and arguments.
  const call = page.getByTestId("mcp-tool-call");
  await expect(call).toHaveAttribute("data-status", "awaiting");
  await expect(call.getByTestId("mcp-tool-name")).toHaveText("facts · lookup");
  await expect(call.getByTestId("mcp-tool-arguments")).toContainText('"city"');
  await shot(page, "mcp-approval");
  await call.getByRole("button", { name: "Approve" }).click();

  // The result card, then the answer with its figures.
  await expect(call).toHaveAttribute("data-status", "ok");
  await expect(call.getByTestId("mcp-tool-duration")).toHaveText(/\d+ ms|\d+\.\d s/);
  const answer = page.getByTestId("turn-assistant").last();
  await expect(answer.locator('[data-figure="finish"]')).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  const args = JSON.parse((await call.getByTestId("mcp-tool-arguments").textContent()) ?? "{}") as { city: string };
  if (args.city === "paris") await expect(call.getByTestId("mcp-tool-result")).toContainText(FACT);
  await expect(answer.getByTestId("assistant-text")).not.toHaveText("…");
  await shot(page, "mcp-answer");

  // Stored with the conversation: a reload shows the same card and answer.
  await page.reload();
  const again = page.getByTestId("mcp-tool-call");
  await expect(again).toHaveAttribute("data-status", "ok");
  await expect(again.getByTestId("mcp-tool-name")).toHaveText("facts · lookup");
  const id = await page.evaluate(() => JSON.parse(localStorage.getItem("mp.conversation") ?? "{}").conversationId as string);
  const conv = await (await fetch(`${API()}/api/v1/conversations/${id}`)).json();
  expect(conv.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
});
