import { API, captureExports, expect, shot, test } from "./fixtures";

const GGUF = "smollm2-135m-instruct-q4_1.gguf";
const HF = "smollm2-135m-instruct";

async function totalVotes(): Promise<number> {
  const res = await fetch(`${API()}/api/v1/arena/leaderboard`);
  return ((await res.json()) as { total_votes: number }).total_votes;
}

test("Arena: a blind battle, a vote that reveals the models, the leaderboard moves, votes export", async ({ page }) => {
  const before = await totalVotes();
  await page.goto("/compare");
  await page.getByRole("tab", { name: "Arena (blind)" }).click();
  // The bundled SmolLM2 on its two engines: llama.cpp (GGUF) against Transformers.
  await page.getByLabel(GGUF, { exact: true }).check();
  await page.getByLabel(HF, { exact: true }).check();
  await page.getByLabel("Max tokens").fill("40");
  await page.getByLabel("Temperature").fill("0");
  await page.getByLabel("System prompt").fill("You are a helpful assistant.");
  await page.getByLabel("Prompt", { exact: true }).fill("What is the capital of France?");
  await page.getByRole("button", { name: "New battle" }).click();

  const a = page.getByTestId("arena-answer-A");
  const b = page.getByTestId("arena-answer-B");
  await expect(a.locator(".markdown")).not.toBeEmpty();
  await expect(b.locator(".markdown")).not.toBeEmpty();
  // Blind: no names and no figures (a backend or a speed would give a model away).
  for (const card of [a, b]) {
    await expect(card).not.toContainText("smollm2");
    await expect(card.getByTestId(/arena-figures/)).toHaveCount(0);
  }
  await expect(page.getByTestId("arena-battle")).not.toContainText("llamacpp");

  await page.getByRole("button", { name: "A is better" }).click();
  await expect(page.getByTestId("arena-result")).toContainText("won");
  await expect(page.getByRole("button", { name: "A is better" })).toHaveCount(0);
  await expect(page.getByTestId("arena-figures-A")).toContainText("tok/s");
  await expect(page.getByTestId("arena-figures-B")).toContainText(/llamacpp|transformers/);
  const winner = (await page.getByTestId("arena-result").textContent())!.replace(/^Your vote: /, "").replace(/ won\.$/, "");
  expect([GGUF, HF]).toContain(winner);
  await shot(page, "arena-battle", true);

  await page.getByRole("tab", { name: "Leaderboard" }).click();
  await expect(page.getByText(new RegExp(`Leaderboard · ${before + 1} votes?$`))).toBeVisible();
  const table = page.getByTestId("arena-leaderboard");
  // By the exact name cell: the Transformers id is a prefix of the GGUF file's name.
  const row = table.locator("tbody tr").filter({ has: page.getByRole("cell", { name: winner, exact: true }) });
  await expect(row).toBeVisible();
  await expect(table.locator("tbody tr")).toHaveCount(2);
  // Below MP_ARENA_MIN_VOTES (10) a row shows the votes it still needs, not an extreme rating
  // with a "-0/+0" interval (FastChat's fit gave 2587 and -587 after one vote).
  const votes = Number(await row.locator("td").nth(4).textContent());
  if (votes < 10) await expect(row).toContainText(`needs ${10 - votes} more vote`);
  else await expect(row).toContainText(/\d+ \(-\d+\/\+\d+\)/); // Bradley-Terry with its interval
  await expect(row).not.toContainText("(-0/+0)");
  await expect(row).toContainText("tok/s");
  await expect(page.getByTestId("arena-matrix")).toBeVisible();
  await expect(page.getByText("Ranked by Bradley-Terry rating")).toBeVisible();
  await shot(page, "arena-leaderboard", true);

  // Export: capture the file handed to the browser (headless downloads go nowhere).
  const exports = await captureExports(page);
  await page.getByRole("button", { name: "Export votes" }).click();
  const [text] = await exports.take(1);
  const lines = text.trim().split("\n").map((l) => JSON.parse(l));
  expect(lines).toHaveLength(before + 1);
  const last = lines.at(-1);
  expect(last.winner).toBe("a");
  expect(last.model_a).toBe(winner);
  expect(last.prompt).toBe("What is the capital of France?");
  expect(last.params).toMatchObject({ max_tokens: 40, temperature: 0 });
  expect(last.figures_a.tokens).toBeGreaterThan(0);
});
