import { API, expect, shot, test } from "./fixtures";

test("Models: quantize tiny-f16.gguf to q8_0, follow its progress, and see the new model with its lineage", async ({ page }) => {
  await page.goto("/models");
  const source = page.getByTestId("local-models").getByRole("row").filter({ hasText: "tiny-f16.gguf" });
  await source.getByRole("button", { name: "Quantize tiny-f16.gguf" }).click();

  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Quantize tiny-f16.gguf");
  await dialog.getByRole("checkbox", { name: /q4_k_m/ }).uncheck();
  await dialog.getByRole("checkbox", { name: /q8_0/ }).check();
  await dialog.getByRole("button", { name: "Quantize" }).click();

  const progress = dialog.getByTestId("quantize-progress");
  await expect(progress).toBeVisible();
  await expect(progress).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(progress).toContainText("tiny-q8_0.gguf: done");
  await expect(progress).toContainText("bits/weight");
  await shot(page, "models-quantized");
  await page.keyboard.press("Escape");

  // The new model is listed with where it came from, and the job with it.
  const row = page.getByTestId("local-models").getByRole("row").filter({ hasText: "tiny-q8_0.gguf" });
  await expect(row).toBeVisible();
  await expect(row.getByTestId("model-lineage")).toHaveText(/^from tiny-f16\.gguf · q8_0 · \d+\.\d\d bits\/weight$/);
  await expect(page.getByTestId("quantize-job").first()).toHaveAttribute("data-status", "completed");

  // Leave the shared models folder as it was for the other tests.
  const removed = await fetch(`${API()}/api/v1/models/tiny-q8_0.gguf`, { method: "DELETE" });
  expect(removed.status).toBe(200);
});
