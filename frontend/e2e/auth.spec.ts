import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { expect, test } from "./fixtures";

// A second real server with authentication on: the UI shows its login form, exchanges the key
// for a session token, keeps only the token (sessionStorage), asks again when the session has
// expired, and logs out.
const ROOT = path.resolve(import.meta.dirname, "..", "..");
let server: ChildProcess | undefined;
let url = "";
let key = "";
let tmp = "";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

test.beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mp-e2e-auth-"));
  const env = {
    ...process.env,
    MP_MODELS_DIR: path.join(tmp, "models"),
    MP_DATA_DIR: path.join(tmp, "data"),
    MP_AUTH_ENABLED: "true",
    MP_THREADS: "1",
    MP_LOG_FORMAT: "text",
  };
  fs.mkdirSync(env.MP_MODELS_DIR);
  fs.symlinkSync(path.join(ROOT, "models", "tiny"), path.join(env.MP_MODELS_DIR, "tiny"));
  const out = execFileSync(path.join(ROOT, ".venv/bin/playground"), ["keys", "create", "--name", "e2e"], { cwd: ROOT, env }).toString();
  key = /key: (\S+)/.exec(out)![1];
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(tmp, "server.log"), "w");
  server = spawn(path.join(ROOT, ".venv/bin/playground"), ["serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", log, log],
    env,
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("auth server did not start");
});

test.afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("login form, session token only, expiry prompt and logout", async ({ page }) => {
  // The wrong key and the pages' first calls before login answer 401.
  test.info().annotations.push({ type: "allow-http-error", description: "401" });
  await page.goto(url);
  const form = page.getByRole("heading", { name: "Log in" });
  await expect(form).toBeVisible();
  await expect(page.getByRole("heading", { name: "Playground" })).toHaveCount(0);

  await page.getByLabel("API key").fill("mp-wrong");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Incorrect API key");

  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Playground" })).toBeVisible();
  // Only the session token is kept, and only for this tab.
  const stored = await page.evaluate(() => ({
    local: JSON.stringify({ ...localStorage }),
    session: sessionStorage.getItem("mp.session") ?? "",
  }));
  expect(stored.local).not.toContain(key);
  expect(stored.session).not.toContain(key);
  expect(JSON.parse(stored.session).token).toMatch(/^ey/);
  // Authenticated calls work: the models page lists the model.
  await page.getByRole("link", { name: "Models" }).click();
  await expect(page.getByText("tiny").first()).toBeVisible();

  // The session runs out: the form comes back and says why.
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem("mp.session")!);
    sessionStorage.setItem("mp.session", JSON.stringify({ ...s, expiresAt: 1 }));
  });
  await page.reload();
  await expect(page.getByText("Your session has expired")).toBeVisible();
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Models" })).toBeVisible(); // the same page again
  await expect(form).toHaveCount(0);

  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByTestId("session")).toContainText("e2e");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(form).toBeVisible();
  expect(await page.evaluate(() => JSON.parse(sessionStorage.getItem("mp.session")!).token)).toBe("");
});

test("uploads carry the session: the RAG lab's question file (JSONL) is read with auth on", async ({ page }, info) => {
  // The pages' first calls before login answer 401; the upload must not.
  test.info().annotations.push({ type: "allow-http-error", description: "401" });
  const file = info.outputPath("questions.jsonl");
  fs.writeFileSync(file, JSON.stringify({ question: "Which bar pressure is right?", document: "boiler.txt" }) + "\n");
  await page.goto(url);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Playground" })).toBeVisible();
  const uploads: number[] = [];
  page.on("response", (res) => {
    if (res.url().includes("/questions/upload")) uploads.push(res.status());
  });
  await page.getByRole("link", { name: "RAG lab" }).click();
  await page.locator("#lab-file").setInputFiles(file);
  await expect(page.getByLabel(/One JSON object per line/)).toHaveValue(/bar pressure/);
  expect(uploads).toEqual([200]);
  await expect(page.getByRole("heading", { name: "Log in" })).toHaveCount(0);
});
