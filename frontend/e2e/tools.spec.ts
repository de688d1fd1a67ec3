import { expect, test } from "./fixtures";

test("tools: one message box; a forced call shows as a card, a typed result gets a reply with tool_choice auto", async ({ page }) => {
  await page.goto("/");
  // The bundled SmolLM2 is preselected; the tiny model is enough once decoding is constrained.
  await page.getByLabel("Model", { exact: true }).selectOption("tiny");
  const panel = page.getByTestId("tools-playground");
  // Tools are a collapsed panel, not a second message box.
  await expect(panel.getByLabel("Tool 1 name")).toHaveCount(0);
  await expect(page.getByRole("textbox", { name: /message/i })).toHaveCount(1);
  await panel.getByRole("switch", { name: "Use tools" }).click();
  await expect(panel.getByLabel("Tool 1 name")).toHaveValue("get_weather");
  // Force the call: constrained decoding makes the tiny model return valid arguments.
  await panel.getByLabel("tool_choice").selectOption("get_weather");
  await expect(panel.getByTestId("tool-choice-note")).toContainText("The turn after a tool result uses auto");
  await page.getByLabel("Max tokens").fill("120");
  await page.getByLabel("Temperature").fill("0");

  const choices: unknown[] = [];
  page.on("request", (req) => {
    if (req.url().endsWith("/v1/chat/completions")) choices.push(JSON.parse(req.postData() ?? "{}").tool_choice);
  });
  const box = page.getByLabel("Message", { exact: true });
  await box.fill("What is the weather in Paris?");
  await box.press("Enter");
  const card = page.getByTestId("tool-call");
  await expect(card).toContainText("get_weather");
  const args = JSON.parse(await card.getByTestId("tool-call-arguments").innerText());
  expect(Object.keys(args).sort()).toEqual(["city", "unit"]);
  expect(["celsius", "fahrenheit"]).toContain(args.unit);

  // The result goes back with tool_choice auto (a forced choice would call again, for ever).
  await page.getByLabel("Max tokens").fill("16");
  await card.getByLabel("Result of get_weather").fill('{"temperature": 21}');
  await card.getByRole("button", { name: "Return result" }).click();
  await expect(card.getByTestId("tool-result")).toContainText("21");
  await expect(page.getByTestId("tools-turn-assistant")).toHaveCount(2);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  expect(choices).toEqual([{ type: "function", function: { name: "get_weather" } }, "auto"]);
});
