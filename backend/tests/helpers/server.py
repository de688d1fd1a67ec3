"""Runs the real server (``playground serve``) as a child process on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_env(models: Path, data: Path, **extra: str) -> dict[str, str]:
    """The environment of a test server on the tiny model: models and state in the given
    folders, one thread (tests share two cores), plus ``extra`` settings."""
    return {
        "MP_MODELS_DIR": str(models),
        "MP_DATA_DIR": str(data),
        "MP_DEFAULT_MODEL": "tiny",
        "MP_THREADS": "1",
        **extra,
    }


def tiny_server(models: Path, data: Path, **extra: str) -> ServerProcess:
    """A server (not started yet) on :func:`tiny_env`, logging to ``data/server.log``."""
    return ServerProcess(tiny_env(models, data, **extra), log_path=data / "server.log")


class ServerProcess:
    """A uvicorn server in its own process. ``start``/``stop``/``kill`` (SIGKILL, for fault
    tests) can be called repeatedly; the port and environment stay the same across restarts."""

    def __init__(self, env: dict[str, str], port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.env = {**os.environ, **env, "MP_HOST": "127.0.0.1", "MP_PORT": str(self.port)}
        self.env.setdefault("HF_HUB_OFFLINE", "1")
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> ServerProcess:
        log = self.log_path or os.devnull
        # The child keeps its own copy of the descriptor; ours closes right away.
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; log: {self.log_path}"
                )
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"server did not become healthy in {timeout} s")

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
