import { API, expect, loadedTokens, setTheme, shot, test } from "./fixtures";


test("a streamed chat reply appears token by token, with figures", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Playground" })).toBeVisible();
  // The bundled SmolLM2 is preselected (e2e/bundled.spec.ts); this test needs many fast tokens.
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("smollm2-135m-instruct");
  await page.getByLabel("Model", { exact: true }).selectOption("tiny");
  // The tiny demo model writes Python-like text; with these settings it writes 300 tokens of it
  // (no early end of text), so the reply visibly grows over many renders.
  await page.getByLabel("Max tokens").fill("300");
  await page.getByLabel("Temperature").fill("2");
  await page.getByLabel("Seed").fill("3");
  await page.getByLabel("Message", { exact: true }).fill("Write a Python function that adds two numbers.");

  // Record every text the reply shows while it streams.
  await page.evaluate(() => {
    const w = window as unknown as { __lengths: number[] };
    w.__lengths = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="assistant-text"]');
      const len = el?.textContent?.replace("…", "").length ?? 0;
      if (len && w.__lengths[w.__lengths.length - 1] !== len) w.__lengths.push(len);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByRole("button", { name: "Send" }).click();
  const reply = page.getByTestId("turn-assistant").last();
  await expect(reply.locator('[data-figure="ttft"]')).toBeVisible();
  await expect(reply.locator('[data-figure="backend"]')).toHaveText("transformers");
  await expect(reply.locator('[data-figure="tokens"]')).not.toHaveText("0");
  const lengths = await page.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths);
  expect(new Set(lengths).size, `reply grew in steps: ${lengths.join(",")}`).toBeGreaterThanOrEqual(3);
  for (let i = 1; i < lengths.length; i++) expect(lengths[i]).toBeGreaterThanOrEqual(lengths[i - 1]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "playground-light");

  // The conversation survives a reload (local storage).
  const text = await reply.getByTestId("assistant-text").innerText();
  await page.reload();
  await expect(page.getByTestId("turn-assistant").last().getByTestId("assistant-text")).toHaveText(text);
  await expect(page.getByTestId("turn-user")).toHaveText(/adds two numbers/);

  await setTheme(page, "dark");
  await page.reload();
  await expect(page.locator("html")).toHaveClass(/dark/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "playground-dark");
  await setTheme(page, "light");
});

test("Stop aborts the stream and the server stops generating", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Model", { exact: true }).selectOption("tiny");
  await page.getByRole("tab", { name: "Completion" }).click();
  // Seed 1 at temperature 2 runs this prompt to max_tokens on the tiny model (no early end of
  // text), so without a working Stop the server would count all 1000 tokens.
  await page.getByLabel("Max tokens").fill("1000");
  await page.getByLabel("Temperature").fill("2");
  await page.getByLabel("Seed").fill("1");
  await page.getByLabel("Prompt").fill("import os\nimport sys\n\n\nclass ");
  const before = await loadedTokens("tiny");
  await page.getByRole("button", { name: "Generate" }).click();
  const stopButton = page.getByRole("button", { name: "Stop" });
  await expect(stopButton).toBeVisible();
  await expect(page.getByTestId("completion-text").locator(".markdown")).not.toBeEmpty();
  await stopButton.click();
  await expect(page.getByRole("button", { name: "Generate" })).toBeVisible();
  await expect(page.locator('[data-figure="finish"]')).toHaveText("stopped");

  // The server's counter settles well short of max_tokens and no request stays active.
  let last = -1;
  await expect
    .poll(
      async () => {
        const now = await loadedTokens("tiny");
        const settled = now === last;
        last = now;
        return settled;
      },
      { intervals: [1500], timeout: 60_000 },
    )
    .toBe(true);
  expect(last - before).toBeGreaterThan(0);
  expect(last - before).toBeLessThan(1000);
  const loaded = (await (await fetch(`${API()}/api/v1/models/loaded`)).json()) as { id: string; active_requests: number }[];
  expect(loaded.find((m) => m.id === "tiny")?.active_requests).toBe(0);
  await page.getByRole("tab", { name: "Chat" }).click();
});

test("parameters validate and reset; controls are keyboard reachable", async ({ page }) => {
  await page.goto("/");
  const temp = page.getByLabel("Temperature");
  await temp.fill("5");
  await expect(page.getByText("Temperature must be between 0 and 2")).toBeVisible();
  await page.getByRole("button", { name: "Reset" }).click();
  await expect(temp).toHaveValue("0.7");
  await expect(page.getByText("Temperature must be between")).toHaveCount(0);

  // Tab from the top of a fresh page reaches the skip link and the navigation.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Playground" })).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Collapse sidebar" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Playground" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Compare" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/compare$/);

  // Every form control on each page has an accessible name.
  for (const route of ["/", "/compare", "/documents", "/models", "/settings"]) {
    await page.goto(route);
    await page.waitForLoadState("networkidle");
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll("input, select, textarea, button"))
        .filter((el) => !(el as HTMLElement).closest("[aria-hidden=true]"))
        .filter((el) => {
          const input = el as HTMLInputElement;
          const name =
            input.getAttribute("aria-label") ||
            (input.id && document.querySelector(`label[for="${input.id}"]`)?.textContent) ||
            input.closest("label")?.textContent ||
            (el.tagName === "BUTTON" ? el.textContent : "");
          return !name?.trim();
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    expect(unnamed, `unlabelled controls on ${route}`).toEqual([]);
  }
});

test("settings: theme switch and API errors are readable", async ({ page }) => {
  // The refused request below is logged by Chromium as a failed resource load; nothing else may be.
  test.info().annotations.push({ type: "allow-http-error", description: "400" });
  await page.goto("/settings");
  await page.getByRole("switch", { name: "Dark theme" }).click();
  await expect(page.locator("html")).toHaveClass(/dark/);
  await expect(page.getByText("transformers").first()).toBeVisible();
  // The embedded default: the server says it needs nothing outside its own process.
  await expect(page.getByTestId("deployment")).toContainText("Metadata: SQLite in the data folder");
  await expect(page.getByTestId("deployment")).toContainText("Jobs: in this server");
  await expect(page.getByTestId("deployment")).toContainText("Vectors: embedded Chroma");
  await shot(page, "settings-dark");
  await page.getByRole("switch", { name: "Dark theme" }).click();
  await expect(page.locator("html")).not.toHaveClass(/dark/);

  // A bad request shows the server's message, not a blank page.
  await page.goto("/");
  await page.getByRole("tab", { name: "Completion" }).click();
  await page.getByLabel("Max tokens").fill("5000");
  await page.getByLabel("Prompt").fill("x = ");
  await page.getByRole("button", { name: "Generate" }).click();
  await expect(page.getByRole("alert")).toContainText("Generation failed");
  await expect(page.getByRole("alert")).toContainText(/context|max_tokens|tokens/i);
  await page.getByRole("button", { name: "Reset" }).click();
  await page.getByRole("tab", { name: "Chat" }).click();
});
