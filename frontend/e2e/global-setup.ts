import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

// Starts the real backend (`.venv/bin/playground serve`) on a free 127.0.0.1 port with a temp
// models dir holding the bundled SmolLM2 (placed by scripts/setup.sh; the default model, as on a
// fresh install) and the tiny test model (tests that need many fast tokens pick it; its f16 GGUF
// is what the quantize test quantizes), plus the
// project's local Hub stand-in (backend/tests/helpers/hub_server.py) for the download test.
const ROOT = path.resolve(import.meta.dirname, "..", "..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, proc: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`${url}/api/v1/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server at ${url} not healthy after ${timeoutMs} ms`);
}

function stop(proc: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

async function startHub(logFile: number): Promise<{ proc: ChildProcess; url: string }> {
  // Throttled so the UI shows the progress bar moving (19 MB at 6 MB/s: a few seconds).
  const proc = spawn(
    path.join(ROOT, ".venv/bin/python"),
    ["-m", "tests.helpers.hub_server", "--repo", `mistral-playground/tiny=${path.join(ROOT, "models/tiny")}`, "--throttle-bps", "6000000"],
    { cwd: path.join(ROOT, "backend"), stdio: ["ignore", "pipe", logFile] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("hub server did not start")), 30_000);
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.once("exit", (code) => reject(new Error(`hub server exited with ${code}`)));
  });
  return { proc, url };
}

export default async function globalSetup() {
  const tiny = path.join(ROOT, "models", "tiny");
  if (!fs.existsSync(path.join(tiny, "config.json"))) {
    throw new Error("models/tiny is missing: run `.venv/bin/playground make-test-models --only tiny` first");
  }
  const bundled = ["smollm2-135m-instruct", "smollm2-135m-instruct-q4_1.gguf"];
  for (const name of bundled) {
    if (!fs.existsSync(path.join(ROOT, "models", name))) {
      throw new Error(`models/${name} is missing: run \`.venv/bin/playground bundled-model\` first`);
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mp-e2e-"));
  const modelsDir = path.join(tmp, "models");
  const dataDir = path.join(tmp, "data");
  fs.mkdirSync(modelsDir);
  fs.mkdirSync(dataDir);
  fs.symlinkSync(tiny, path.join(modelsDir, "tiny"));
  for (const name of bundled) fs.symlinkSync(path.join(ROOT, "models", name), path.join(modelsDir, name));
  // A second id for the same weights, so Compare shows two distinct models.
  fs.symlinkSync(tiny, path.join(modelsDir, "tiny-b"));
  // tiny's f16 GGUF (made with the test models), the source of the quantize test.
  const tinyGguf = path.join(ROOT, "models", "tiny-f16.gguf");
  if (!fs.existsSync(tinyGguf)) throw new Error("models/tiny-f16.gguf is missing: run `.venv/bin/playground make-test-models --only tiny`");
  fs.symlinkSync(tinyGguf, path.join(modelsDir, "tiny-f16.gguf"));
  const resultsDir = path.join(import.meta.dirname, "..", "test-results");
  fs.mkdirSync(resultsDir, { recursive: true });
  const logFile = fs.openSync(path.join(resultsDir, "e2e-server.log"), "w");

  const hub = await startHub(logFile);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(path.join(ROOT, ".venv/bin/playground"), ["serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", logFile, logFile],
    env: {
      ...process.env,
      MP_MODELS_DIR: modelsDir,
      MP_DATA_DIR: dataDir,
      MP_THREADS: "1",
      // No MP_DEFAULT_MODEL: the server picks the bundled SmolLM2, as for a newcomer.
      MP_DEFAULT_MODEL: "",
      MP_LOG_FORMAT: "text",
      HF_ENDPOINT: hub.url,
      HF_HUB_OFFLINE: "0",
    },
  });
  try {
    await waitHealthy(url, server, 120_000);
  } catch (err) {
    await stop(server);
    await stop(hub.proc);
    throw err;
  }
  process.env.MP_E2E_URL = url;
  process.env.MP_E2E_HUB_URL = hub.url;
  process.env.MP_E2E_TMP = tmp;

  return async () => {
    await stop(server);
    await stop(hub.proc);
    fs.closeSync(logFile);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
}
