import fs from "node:fs";
import path from "node:path";

import { API, expect, knowledgeBaseWith, shot, test } from "./fixtures";

const DOCS: Record<string, string> = {
  "boiler.txt":
    "Boiler manual. The boiler pressure must stay between 1.2 and 1.8 bar. Bleed the radiators every autumn. Error code F28 means the gas supply failed to ignite.",
  "garden.txt":
    "Garden diary. Tomatoes want full sun and steady watering. Basil dislikes cold nights and should be brought inside in October.",
};

const QUESTIONS = [
  { question: "What does error F28 mean?", document: "boiler.txt", text: "F28" },
  { question: "Which pressure range is right for the boiler?", document: "boiler.txt" },
  { question: "When should basil come indoors?", document: "garden.txt" },
];

/** A knowledge base with two documents, made through the API (the Documents page has its own test). */
async function knowledgeBase(name: string) {
  await knowledgeBaseWith(name, DOCS);
}

test("RAG lab: an uploaded question set runs on two configurations with metrics, drill-down and export", async ({ page }, info) => {
  const name = `lab ${Date.now()}`;
  await knowledgeBase(name);
  const dir = info.outputPath("lab");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "questions.jsonl");
  fs.writeFileSync(file, QUESTIONS.map((q) => JSON.stringify(q)).join("\n") + "\n");

  await page.goto("/rag-lab");
  await page.getByLabel("Knowledge base").selectOption(name);
  await page.locator("#lab-file").setInputFiles(file);
  await expect(page.getByLabel(/One JSON object per line/)).toHaveValue(/error F28/);

  // Keep two of the default configurations: hybrid and lexical.
  await page.getByLabel("Configuration 2").getByRole("button", { name: "Remove" }).click();
  await expect(page.getByLabel("Configuration 2").getByLabel("Name")).toHaveValue("lexical");
  await page.getByRole("button", { name: "Run evaluation" }).click();

  const table = page.getByRole("table", { name: "Metrics per configuration" });
  await expect(page.getByText("(succeeded)")).toBeVisible({ timeout: 150_000 });
  await expect(table.getByRole("row")).toHaveCount(3); // header + two configurations
  // One chunk per short document: every question finds its document first.
  for (const config of ["hybrid", "lexical"]) {
    await expect(table.getByRole("row", { name: new RegExp(`^${config} 100%`) })).toBeVisible();
  }
  await page.getByText("Per-question drill-down").click();
  await expect(page.getByText("What does error F28 mean?", { exact: true })).toBeVisible();
  await expect(page.getByText(/hybrid: ✔ boiler\.txt/).first()).toBeVisible();
  await shot(page, "rag-lab", true);

  const href = await page.getByRole("link", { name: "JSON" }).getAttribute("href");
  const exported = await fetch(`${API()}${href}`);
  expect(exported.status).toBe(200);
  const body = (await exported.json()) as { configurations: unknown[] };
  expect(body.configurations).toHaveLength(2);
});
