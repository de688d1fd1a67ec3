import { API, expect, knowledgeBaseWith, shot, test } from "./fixtures";

// At 800 px the sidebar took 208 px and the Models and Documents tables pushed their action
// buttons out of view (behind a horizontal scroll). From a fresh profile the sidebar now starts
// collapsed below 900 px, low-priority columns give way, and the actions column stays in view.
test.use({ viewport: { width: 800, height: 900 } });

async function knowledgeBaseWithNote(name: string) {
  await knowledgeBaseWith(name, { "narrow-note.txt": "Narrow screens still need their delete buttons." });
}

test("At 800x900 the sidebar starts collapsed, toggles and remembers; table actions are visible and work", async ({ page }) => {
  // Compare's spec runs tiny-b first and leaves it loaded; this test starts from it unloaded.
  const unloaded = await fetch(`${API()}/api/v1/models/tiny-b/unload`, { method: "POST" });
  expect([204, 404]).toContain(unloaded.status);
  await page.goto("/models");
  const sidebar = page.getByTestId("sidebar");
  await expect(sidebar).toHaveAttribute("data-collapsed", "true");
  expect((await sidebar.boundingBox())!.width).toBeLessThan(80);
  // Icons only, still named for screen readers and on hover.
  await expect(page.getByRole("link", { name: "Documents" })).toHaveAttribute("title", "Documents");

  // Models: Load, Unload and Delete are in view without scrolling sideways.
  const local = page.getByTestId("local-models");
  const row = local.getByRole("row").filter({ hasText: "tiny-b" });
  const load = row.getByRole("button", { name: "Load tiny-b" });
  await expect(load).toBeInViewport();
  await expect(row.getByRole("button", { name: "Delete tiny-b" })).toBeInViewport();
  await row.getByRole("button", { name: "Delete tiny-b" }).click({ trial: true }); // other specs use tiny-b
  await load.click();
  const loaded = page.getByTestId("loaded-models").getByRole("row").filter({ hasText: "tiny-b" });
  const unload = loaded.getByRole("button", { name: "Unload tiny-b" });
  await expect(unload).toBeInViewport();
  await shot(page, "models-800");
  await unload.click();
  await expect(page.getByTestId("loaded-models").getByRole("row").filter({ hasText: "tiny-b" })).toHaveCount(0);
  // The catalog's Download column too, once scrolled down to (not sideways).
  const entry = page.getByTestId("catalog").getByRole("row").nth(1);
  await entry.locator("td").first().scrollIntoViewIfNeeded();
  await expect(entry.locator("td").last()).toBeInViewport();

  // Documents: the delete button of a document is in view and deletes it.
  const name = `narrow ${Date.now()}`;
  await knowledgeBaseWithNote(name);
  await page.getByRole("link", { name: "Documents" }).click();
  await page.getByRole("button", { name: new RegExp(name) }).click();
  const docs = page.getByTestId("documents");
  const remove = docs.getByRole("button", { name: "Delete narrow-note.txt" });
  await expect(remove).toBeInViewport();
  await shot(page, "documents-800");
  await remove.click();
  await expect(docs).toHaveCount(0);

  // The toggle expands the sidebar, and the choice survives a reload.
  await page.getByRole("button", { name: "Expand sidebar" }).click();
  await expect(sidebar).toHaveAttribute("data-collapsed", "false");
  await expect(page.getByRole("link", { name: "Documents" })).toContainText("Documents");
  await page.reload();
  await expect(page.getByTestId("sidebar")).toHaveAttribute("data-collapsed", "false");
  await page.getByRole("button", { name: "Collapse sidebar" }).click();
  await expect(page.getByTestId("sidebar")).toHaveAttribute("data-collapsed", "true");
});
