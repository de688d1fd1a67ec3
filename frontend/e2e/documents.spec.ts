import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { expect, shot, test } from "./fixtures";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** A 3-page PDF (made with PyMuPDF from the project's venv) whose page 2 holds the answer. */
function makePdf(dir: string): string {
  const file = path.join(dir, "lighthouse.pdf");
  const script = `
import sys, pymupdf
pages = [
  "Orchard notes. Apple trees need pruning in late winter. Pears ripen after apples.",
  "Lighthouse log. The lighthouse keeper's cat is named Biscuit. Biscuit sleeps on the lantern gallery every night.",
  "Railway timetable. The night train leaves the harbour station at nine and arrives at dawn.",
]
doc = pymupdf.open()
for text in pages:
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 700), text, fontsize=12)
doc.save(sys.argv[1])
`;
  execFileSync(path.join(ROOT, ".venv/bin/python"), ["-c", script, file]);
  return file;
}

test("Documents: drag-and-drop upload reaches ready; an answer cites the right page", async ({ page }, info) => {
  const dir = info.outputPath("docs");
  fs.mkdirSync(dir, { recursive: true });
  const pdf = makePdf(dir);
  const md = path.join(dir, "garden.md");
  fs.writeFileSync(md, "# Garden\n\nTomatoes want sun and steady water.\n\n## Herbs\n\nBasil dislikes cold nights.\n");

  await page.goto("/documents");
  await expect(page.getByText("No knowledge base selected")).toBeVisible();
  await page.getByLabel("New knowledge base").fill("e2e notes");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("button", { name: /e2e notes/ })).toBeVisible();

  // Drop the PDF onto the drop zone, as a user dragging it from the desktop would.
  const bytes = fs.readFileSync(pdf).toString("base64");
  const dataTransfer = await page.evaluateHandle((b64) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bin], "lighthouse.pdf", { type: "application/pdf" }));
    return dt;
  }, bytes);
  await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer });
  // And pick a second file with the file chooser input.
  await page.getByLabel("choose files").setInputFiles(md);

  const items = page.getByTestId("upload-item");
  await expect(items).toHaveCount(2);
  await expect(items.filter({ hasText: "lighthouse.pdf" })).toHaveAttribute("data-phase", "ready", { timeout: 120_000 });
  await expect(items.filter({ hasText: "garden.md" })).toHaveAttribute("data-phase", "ready", { timeout: 120_000 });
  const docs = page.getByTestId("documents");
  await expect(docs.getByRole("row").filter({ hasText: "lighthouse.pdf" })).toContainText("3");
  await expect(docs.getByRole("row").filter({ hasText: "lighthouse.pdf" })).toContainText("ready");

  await page.getByLabel("Question").fill("What is the name of the lighthouse keeper's cat?");
  await page.getByLabel("Sources", { exact: true }).fill("1");
  await page.getByText("Generation parameters").click();
  await page.getByLabel("Max tokens").fill("24");
  await page.getByText("Generation parameters").click();
  await page.getByRole("button", { name: "Ask" }).click();
  const citation = page.getByTestId("citation").first();
  await expect(citation).toHaveText(/\[1\] lighthouse\.pdf, p\.2$/);
  await expect(page.getByTestId("rag-answer").locator('[data-figure="ttft"]')).toBeVisible();
  // Rank, cosine similarity and BM25 (the fused RRF score, ~0.03 for a top hit, read as "no match").
  await expect(page.getByTestId("chunk-figures").first()).toHaveText(/^#1 · cosine 0\.\d\d( · BM25 \d+\.\d)?$/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "documents-light", true);

  await citation.click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("lighthouse.pdf, page 2");
  await expect(dialog.getByTestId("chunk-text")).toContainText("Biscuit");
  await shot(page, "documents-citation");
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);

  // Delete the Markdown document.
  await docs.getByRole("button", { name: "Delete garden.md" }).click();
  await expect(docs.getByRole("row").filter({ hasText: "garden.md" })).toHaveCount(0);
});
