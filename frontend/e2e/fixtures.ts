import fs from "node:fs";
import path from "node:path";
import { test as base, expect, type Page } from "@playwright/test";

export const SHOTS = path.join(import.meta.dirname, "..", "test-results", "screenshots");

/** Every test fails on a console error or an uncaught page error. */
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(msg.text());
      });
      page.on("pageerror", (err) => errors.push(String(err)));
      await use(errors);
      const allowed = base.info().annotations.filter((a) => a.type === "allow-http-error").map((a) => a.description);
      const unexpected = errors.filter(
        (e) => !allowed.some((status) => e.startsWith(`Failed to load resource: the server responded with a status of ${status}`)),
      );
      expect(unexpected, "console errors during the test").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

export async function shot(page: Page, name: string, fullPage = false) {
  fs.mkdirSync(SHOTS, { recursive: true });
  // Let open/close transitions (dialogs, overlays) settle; endless spinners are ignored.
  await page.waitForFunction(() =>
    document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity),
  );
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

export async function setTheme(page: Page, theme: "light" | "dark") {
  await page.evaluate((t) => {
    const raw = localStorage.getItem("mp.settings");
    const s = raw ? JSON.parse(raw) : {};
    localStorage.setItem("mp.settings", JSON.stringify({ ...s, theme: t }));
  }, theme);
}

export const API = () => process.env.MP_E2E_URL!;

/** A knowledge base named `name` holding `docs` (file name -> text), made through the API and
 * waited on until every document is ingested. */
export async function knowledgeBaseWith(name: string, docs: Record<string, string>) {
  const created = await fetch(`${API()}/api/v1/rag/collections`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  expect(created.status).toBe(201);
  const form = new FormData();
  form.append("collection", name);
  for (const [file, text] of Object.entries(docs)) form.append("files", new Blob([text], { type: "text/plain" }), file);
  const upload = await fetch(`${API()}/api/v1/rag/documents`, { method: "POST", body: form });
  expect(upload.status).toBe(202);
  const { items } = (await upload.json()) as { items: { job_id: string }[] };
  for (const item of items) {
    await expect
      .poll(async () => ((await (await fetch(`${API()}/api/v1/rag/jobs/${item.job_id}`)).json()) as { status: string }).status, {
        timeout: 120_000,
      })
      .toBe("succeeded");
  }
}

export async function loadedTokens(model: string): Promise<number> {
  const res = await fetch(`${API()}/api/v1/models/loaded`);
  const list = (await res.json()) as { id: string; tokens_generated: number }[];
  return list.find((m) => m.id === model)?.tokens_generated ?? 0;
}

/**
 * Captures the files the page hands to the browser through `URL.createObjectURL` (headless
 * downloads go nowhere). Call before clicking export buttons; `take(n)` waits for `n` files and
 * returns their texts in the order they were made.
 */
export async function captureExports(page: Page): Promise<{ take: (count: number) => Promise<string[]> }> {
  await page.evaluate(() => {
    const w = window as unknown as { __exports: Promise<string>[] };
    w.__exports = [];
    const orig = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (obj: Blob | MediaSource) => {
      if (obj instanceof Blob) w.__exports.push(obj.text());
      return orig(obj);
    };
  });
  return {
    take: async (count: number) => {
      await page.waitForFunction((n) => (window as unknown as { __exports: unknown[] }).__exports.length >= n, count);
      return page.evaluate(() => Promise.all((window as unknown as { __exports: Promise<string>[] }).__exports));
    },
  };
}
