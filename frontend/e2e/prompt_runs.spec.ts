import { expect, shot, test } from "./fixtures";

const YES = { enum: ["yes"] };
const rows = [
  { prompt: "Say yes", json_schema: YES, contains: "yes" },
  { prompt: "def task():", regex: "^never-written$" },
  { prompt: "Say yes again", json_schema: YES, expected: '"yes"' },
  { prompt: "Count to three", system: "Be brief." },
];

test("Prompt sets: open a finished run, see its grid, summary and charts, rate a cell", async ({ page }) => {
  const headers = { "X-Requested-With": "playground" };
  const created = await page.request.post("/api/v1/arena/runs", {
    headers,
    data: {
      name: "e2e checks",
      models: [{ model: "tiny" }, { model: "tiny-b" }],
      params: { max_tokens: 8, temperature: 0, seed: 11 },
      rows,
    },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/arena/runs/${id}`)).json()).status, { timeout: 120_000 })
    .toBe("completed");

  await page.goto("/prompt-runs");
  await page.getByTestId("run-item").filter({ hasText: "e2e checks" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("completed");
  await expect(page.getByTestId("run-counts")).toHaveText("8 done, 0 failed, 8 cells");
  const grid = page.getByRole("table", { name: "Results grid" });
  await expect(grid.getByTestId("grid-row")).toHaveCount(4);
  await expect(grid.getByTestId("grid-cell")).toHaveCount(8);
  const first = grid.getByTestId("grid-row").first();
  await expect(first.getByTestId("check-badge").first()).toHaveText("contains pass");
  await expect(grid.getByTestId("grid-row").nth(1).getByTestId("check-badge").first()).toHaveText("regex fail");
  const charts = page.getByTestId("run-charts");
  await expect(charts.getByRole("img", { name: /^Tokens\/s per cell: tiny median .+ over 4/ })).toBeVisible();
  await expect(charts.getByRole("img", { name: /^TTFT per cell: tiny median/ })).toBeVisible();
  await expect(charts.getByRole("img", { name: /Pass rate per check \(%\): tiny · exact 100%/ })).toBeVisible();
  const summary = page.getByRole("table", { name: "Per-model summary" });
  await expect(summary.getByRole("row")).toHaveCount(3);

  await page.getByRole("button", { name: "Thumbs up: row 1, tiny", exact: true }).click();
  await expect(page.getByRole("button", { name: "Thumbs up: row 1, tiny", exact: true })).toHaveAttribute("aria-pressed", "true");
  await page.getByRole("button", { name: "Thumbs down: row 1, tiny-b", exact: true }).click();
  await expect(summary.getByRole("row").nth(1)).toContainText("1 up · 0 down");
  await expect(summary.getByRole("row").nth(2)).toContainText("0 up · 1 down");
  await shot(page, "prompt-runs", true);
});
