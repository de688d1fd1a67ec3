import fs from "node:fs";
import path from "node:path";

import { expect, SHOTS, shot, test } from "./fixtures";

// What a newcomer sees: the bundled SmolLM2 preselected, labelled for what it is, answering in
// English with no chat-template tokens. Its screenshot is the one in README.md
// (docs/screenshots/playground-smollm2.png is a copy of test-results/screenshots/).
test("the bundled SmolLM2 is the default and answers in English", async ({ page }) => {
  await page.goto("/");
  const picker = page.getByLabel("Model", { exact: true });
  await expect(picker).toHaveValue("smollm2-135m-instruct");
  await expect(page.getByTestId("bundled-model-note")).toContainText("135M");
  await expect(page.getByTestId("bundled-model-note")).toContainText("facts and arithmetic wrong");

  await page.getByLabel("Temperature").fill("0");
  await page.getByLabel("Max tokens").fill("64");
  await page.getByLabel("Message", { exact: true }).fill("What is the capital of France?");
  await page.getByRole("button", { name: "Send" }).click();
  const reply = page.getByTestId("turn-assistant").last();
  await expect(reply.locator('[data-figure="backend"]')).toHaveText("transformers");
  const text = await reply.getByTestId("assistant-text").innerText();
  expect(text).toContain("Paris");
  expect(text).not.toMatch(/<\|im_(start|end)\|>|im_start|im_end/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "playground-smollm2");
  expect(fs.existsSync(path.join(SHOTS, "playground-smollm2.png"))).toBe(true);
});
