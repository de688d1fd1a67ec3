import { expect, shot, test } from "./fixtures";

test("Models: download from the local Hub stand-in reaches 100%, then load, unload and delete", async ({ page }) => {
  await page.goto("/models");
  await expect(page.getByTestId("local-models")).toContainText("tiny");
  await expect(page.getByTestId("catalog")).toBeVisible();

  await page.getByLabel("Repo id or .gguf URL").fill("mistral-playground/tiny");
  await page.getByLabel("Save as").fill("tiny-dl");
  // Record every percentage the job row shows.
  await page.evaluate(() => {
    const w = window as unknown as { __pct: string[] };
    w.__pct = [];
    new MutationObserver(() => {
      const t = document.querySelector('[data-testid="download-percent"]')?.textContent ?? "";
      if (t && w.__pct[w.__pct.length - 1] !== t) w.__pct.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByRole("button", { name: "Download", exact: true }).click();
  const job = page.getByTestId("download-job").filter({ hasText: "tiny-dl" });
  await expect(job).toBeVisible();
  await shot(page, "models-downloading");
  await expect(job).toHaveAttribute("data-status", "completed", { timeout: 120_000 });
  await expect(job.getByTestId("download-percent")).toHaveText("100%");
  await expect(job.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  const seen = await page.evaluate(() => (window as unknown as { __pct: string[] }).__pct);
  expect(seen[seen.length - 1]).toBe("100%");
  // The Hub stand-in is throttled (a few seconds for 19 MB), so the bar moved through values in between.
  expect(seen.some((p) => p !== "0%" && p !== "100%"), `percentages shown: ${seen.join(" ")}`).toBe(true);

  // The downloaded model is usable: it appears locally, loads and unloads.
  const row = page.getByTestId("local-models").getByRole("row").filter({ hasText: "tiny-dl" });
  await expect(row).toBeVisible();
  await row.getByRole("button", { name: "Load tiny-dl" }).click();
  const loaded = page.getByTestId("loaded-models").getByRole("row").filter({ hasText: "tiny-dl" });
  await expect(loaded).toBeVisible();
  await expect(loaded).toContainText("transformers");
  await expect(loaded).toContainText(/\d+(\.\d)? (KB|MB)/);
  await shot(page, "models-light");
  await loaded.getByRole("button", { name: "Unload tiny-dl" }).click();
  await expect(page.getByTestId("loaded-models").getByRole("row").filter({ hasText: "tiny-dl" })).toHaveCount(0);

  page.once("dialog", (d) => void d.accept());
  await row.getByRole("button", { name: "Delete tiny-dl" }).click();
  await expect(page.getByTestId("local-models").getByRole("row").filter({ hasText: "tiny-dl" })).toHaveCount(0);
});
