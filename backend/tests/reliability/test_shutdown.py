"""Graceful shutdown (SIGTERM): open streams end, the lifespan's shutdown runs (stores closed,
job state saved), the process exits cleanly, and an interrupted download carries on after the
next start."""

from __future__ import annotations

import threading
import time

import httpx

from tests.helpers.hub_server import HubServer
from tests.reliability.conftest import start_server

REPO = "org/tiny"


def test_sigterm_ends_streams_and_keeps_jobs(tmp_path_factory, tiny_model_dir, models_dir):
    hub = HubServer().start()
    hub.add_repo(REPO, tiny_model_dir)
    weights = hub.repos[REPO].files["model.safetensors"]
    hub.pause_once(f"{REPO}/model.safetensors", weights.size // 2)
    models = tmp_path_factory.mktemp("term-models")
    (models / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    server = start_server(
        tmp_path_factory,
        models,
        "term",
        MP_DOWNLOAD_RESERVE_BYTES="0",
        HF_ENDPOINT=hub.url,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(tmp_path_factory.mktemp("term-hf-home")),
    )
    try:
        job_id = httpx.post(
            f"{server.url}/api/v1/downloads",
            json={"repo_id": REPO, "name": "tiny-term"},
            timeout=60,
        ).json()["id"]
        assert hub.paused.wait(120)

        outcome: dict[str, object] = {}
        first_token = threading.Event()

        def stream() -> None:
            body = {
                "prompt": "A long story:",
                "max_tokens": 900,
                "stream": True,
                "temperature": 1.0,
                "seed": 3,
            }
            events = 0
            try:
                with httpx.stream(
                    "POST", f"{server.url}/api/v1/models/generate", json=body, timeout=120
                ) as response:
                    for line in response.iter_lines():
                        if line.startswith("event: token"):
                            events += 1
                            first_token.set()
                        if line.startswith("event: done"):
                            outcome["done"] = True
            except httpx.HTTPError as exc:
                outcome["error"] = type(exc).__name__
            outcome["events"] = events

        reader = threading.Thread(target=stream)
        reader.start()
        assert first_token.wait(120), "no token arrived"
        server.stop()  # SIGTERM; stop() falls back to SIGKILL after 20 s
        # Uvicorn re-raises SIGTERM once it has shut down (-15); -9 would mean stop() had to
        # kill a process that did not finish shutting down.
        assert server.proc is not None and server.proc.returncode in (0, -15), server.proc
        reader.join(60)
        assert not reader.is_alive(), "the client stream hung after shutdown"
        assert "done" not in outcome, outcome  # 900 tokens could not have finished
        log = server.log_path.read_text() if server.log_path else ""
        assert "Application shutdown complete" in log

        hub.unpause.set()
        server.start()
        deadline = time.monotonic() + 300
        while True:
            job = httpx.get(f"{server.url}/api/v1/downloads/{job_id}", timeout=60).json()
            if job["status"] in ("completed", "failed", "cancelled"):
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "completed", job
    finally:
        hub.unpause.set()
        server.stop()
        hub.stop()
