import { expect, test } from "./fixtures";

test("tools panel: a forced call shows as a card, a typed result gets a reply", async ({ page }) => {
  await page.goto("/");
  // The bundled SmolLM2 is preselected; the tiny model is enough once decoding is constrained.
  await page.getByLabel("Model", { exact: true }).selectOption("tiny");
  const panel = page.getByTestId("tools-playground");
  await expect(panel.getByLabel("Tool 1 name")).toHaveValue("get_weather");
  // Force the call: constrained decoding makes the tiny model return valid arguments.
  await panel.getByLabel("tool_choice").selectOption("get_weather");
  await page.getByLabel("Max tokens").fill("120");
  await page.getByLabel("Temperature").fill("0");
  await panel.getByLabel("Tools message").fill("What is the weather in Paris?");
  await panel.getByRole("button", { name: "Run with tools" }).click();
  const card = panel.getByTestId("tool-call");
  await expect(card).toContainText("get_weather");
  const args = JSON.parse(await card.getByTestId("tool-call-arguments").innerText());
  expect(Object.keys(args).sort()).toEqual(["city", "unit"]);
  expect(["celsius", "fahrenheit"]).toContain(args.unit);

  await panel.getByLabel("tool_choice").selectOption("auto");
  await page.getByLabel("Max tokens").fill("16");
  await card.getByLabel("Result of get_weather").fill('{"temperature": 21}');
  await card.getByRole("button", { name: "Return result" }).click();
  await expect(card.getByTestId("tool-result")).toContainText("21");
  await expect(panel.getByTestId("tools-turn-assistant")).toHaveCount(2);
});
