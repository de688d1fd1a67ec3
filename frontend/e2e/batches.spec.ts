import { expect, shot, test } from "./fixtures";

const line = (i: number) =>
  JSON.stringify({
    custom_id: `ui-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "tiny", max_tokens: 4, messages: [{ role: "user", content: `def f${i}():` }] },
  });

test("Batches: upload a JSONL file, watch it complete, download the results", async ({ page }) => {
  await page.goto("/batches");
  await page.getByLabel(/Requests \(JSONL/).setInputFiles({
    name: "requests.jsonl",
    mimeType: "application/jsonl",
    buffer: Buffer.from(Array.from({ length: 5 }, (_, i) => line(i)).join("\n")),
  });
  await page.getByRole("button", { name: "Start batch" }).click();
  const row = page.getByTestId("batch-row").first();
  await expect(row.getByTestId("batch-status")).toHaveText("completed", { timeout: 120_000 });
  await expect(row.getByTestId("batch-counts")).toHaveText("5 done, 0 failed, 5 total");
  await shot(page, "batches-completed");
  const download = page.waitForEvent("download");
  await row.getByRole("button", { name: "Results" }).click();
  const file = await download;
  const text = await (await file.createReadStream()).toArray();
  const lines = Buffer.concat(text).toString("utf8").trim().split("\n");
  expect(lines.map((l) => JSON.parse(l).custom_id).sort()).toEqual(["ui-0", "ui-1", "ui-2", "ui-3", "ui-4"]);
});

test("Batches: a malformed line is refused with a message naming it", async ({ page }) => {
  test.info().annotations.push({ type: "allow-http-error", description: "400" });
  await page.goto("/batches");
  await page.getByLabel(/Requests \(JSONL/).setInputFiles({
    name: "bad.jsonl",
    mimeType: "application/jsonl",
    buffer: Buffer.from(`${line(0)}\n{"custom_id": "x"`),
  });
  await page.getByRole("button", { name: "Start batch" }).click();
  await expect(page.getByRole("alert")).toContainText("Line 2: not valid JSON");
});

test("Playground: prompt boxes show a live token count against the context", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Message", { exact: true }).fill("def read_config(path):");
  const count = page.getByTestId("token-count");
  await expect(count).toHaveText(/^\d+ \/ [\d,]+ tokens$/);
  const first = Number((await count.textContent())!.split(" ")[0]);
  await page.getByLabel("Message", { exact: true }).fill("def read_config(path): return open(path).read() + more words");
  await expect.poll(async () => Number((await count.textContent())!.split(" ")[0])).toBeGreaterThan(first);
});
