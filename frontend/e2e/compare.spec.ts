import { captureExports, expect, setTheme, shot, test } from "./fixtures";

test("Compare from a fresh profile: two distinct models stored as shown, Run says why it waits, load time apart", async ({ page }) => {
  // A fresh browser context: no saved setup in local storage.
  await page.goto("/compare");
  const m1 = page.getByLabel("Model 1", { exact: true });
  const m2 = page.getByLabel("Model 2", { exact: true });
  await expect(m1).not.toHaveValue("");
  await expect(m2).not.toHaveValue("");
  const [v1, v2] = [await m1.inputValue(), await m2.inputValue()];
  expect(v1).not.toBe(v2); // distinct models by default
  // What the pickers show is what the page stored (and what Run sends).
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem("mp.compare.setup") ?? "{}").targets);
  expect(saved.map((t: { model: string }) => t.model)).toEqual([v1, v2]);

  const run = page.getByRole("button", { name: "Run", exact: true });
  await expect(run).toBeDisabled();
  await expect(page.getByTestId("run-blocker")).toHaveText("Type a prompt.");
  await m1.selectOption("tiny");
  await m2.selectOption("tiny-b");
  await page.getByLabel("Max tokens").fill("8");
  const prompt = page.getByLabel("Prompt", { exact: true });
  await prompt.fill("Say hi.");
  await expect(run).toBeEnabled();
  await expect(page.getByTestId("run-blocker")).toHaveCount(0);
  // Enter runs in chat mode.
  await prompt.press("Enter");
  await expect(page.getByTestId("compare-column-0").getByText("done")).toBeVisible();
  await expect(page.getByTestId("compare-column-1").getByText("done")).toBeVisible();
  // The table shows the model load time apart from TTFT (a model loaded by this run says so).
  const figures = page.getByTestId("compare-figures");
  await expect(figures.getByRole("columnheader", { name: "Load" })).toBeVisible();
  await expect(figures.getByTestId("load-cell")).toHaveCount(2);
  await expect(page.getByRole("img", { name: /Time to first token without model loading/ })).toBeVisible();
});

test("Compare runs two models side by side with figures and a chart", async ({ page }) => {
  await page.goto("/compare");
  await page.getByLabel("Model 1", { exact: true }).selectOption("tiny");
  await page.getByLabel("Model 2", { exact: true }).selectOption("tiny-b");
  await page.getByLabel("Max tokens").fill("32");
  await page.getByLabel("Temperature").fill("1");
  await page.getByLabel("Seed").fill("3");
  await page.getByLabel("Prompt", { exact: true }).fill("Write a Python function that adds two numbers.");
  await page.getByRole("button", { name: "Run", exact: true }).click();

  const col0 = page.getByTestId("compare-column-0");
  const col1 = page.getByTestId("compare-column-1");
  await expect(col0).toContainText("tiny");
  await expect(col1).toContainText("tiny-b");
  await expect(col0.getByText("done")).toBeVisible();
  await expect(col1.getByText("done")).toBeVisible();
  const figures = page.getByTestId("compare-figures");
  await expect(figures.locator("tbody tr")).toHaveCount(2);
  await expect(figures.locator("tbody tr").first()).toContainText("transformers");
  await expect(figures.locator("tbody tr").first()).toContainText(/\d+(\.\d+)? (ms|s)/);
  await expect(figures.locator("tbody tr").first()).toContainText("tok/s");
  await expect(page.getByRole("img", { name: /Time to first token/ })).toBeVisible();
  await expect(page.getByRole("img", { name: /Tokens per second/ })).toBeVisible();
  await expect(col0.locator(".markdown")).not.toBeEmpty();
  await expect(col1.locator(".markdown")).not.toBeEmpty();
  await expect(page.getByRole("button", { name: "Export JSON" })).toBeEnabled();
  await shot(page, "compare-light", true);
  await setTheme(page, "dark");
  await page.reload();
  await expect(page.getByTestId("compare-figures")).toBeVisible();
  await shot(page, "compare-dark", true);
  await setTheme(page, "light");
  await page.reload();

  // Export: capture the files the buttons hand to the browser (headless downloads go nowhere).
  const exports = await captureExports(page);
  await page.getByRole("button", { name: "Export JSON" }).click();
  await page.getByRole("button", { name: "Export Markdown" }).click();
  const [json, md] = await exports.take(2);
  const run = JSON.parse(json);
  expect(run.prompt).toBe("Write a Python function that adds two numbers.");
  expect(run.parameters).toMatchObject({ seed: 3, temperature: 1, max_tokens: 32 });
  expect(run.environment.server_version).toMatch(/\d+\.\d+/);
  expect(run.results.map((r: { model: string }) => r.model)).toEqual(["tiny", "tiny-b"]);
  expect(run.results[0].backend).toBe("transformers");
  expect(run.results[0].output.length).toBeGreaterThan(0);
  expect(run.results[0].ttft_ms).toBeGreaterThan(0);
  expect(md).toContain("| Model | Backend | TTFT | Load | Speed | Tokens | Total | Finish |");
  expect(md).toContain("## 2. tiny-b (transformers)");

  // Re-run streams again and finishes again.
  await page.getByRole("button", { name: "Re-run" }).click();
  await expect(col0.getByText("done")).toBeVisible();
  await expect(col1.getByText("done")).toBeVisible();
});
