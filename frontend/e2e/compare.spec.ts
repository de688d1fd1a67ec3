import { captureExports, expect, setTheme, shot, test } from "./fixtures";

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
  expect(md).toContain("| Model | Backend | TTFT | Speed | Tokens | Total | Finish |");
  expect(md).toContain("## 2. tiny-b (transformers)");

  // Re-run streams again and finishes again.
  await page.getByRole("button", { name: "Re-run" }).click();
  await expect(col0.getByText("done")).toBeVisible();
  await expect(col1.getByText("done")).toBeVisible();
});
