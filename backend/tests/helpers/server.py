"""Runs the real server (``playground serve``) on a free 127.0.0.1 port, and the job worker
(``playground worker``), as child processes."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    """A loopback port nobody listens on now. Under pytest-xdist each worker draws from a range
    of its own below the kernel's ephemeral ports: a port the kernel hands to one worker could
    otherwise be handed to the other between the draw and the server's bind (seen once: a test
    talked to the other worker's server)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    low = 20000 + 2000 * int(worker[2:])
    for port in random.sample(range(low, low + 2000), 2000):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {low}-{low + 1999}")


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


class _ChildProcess:
    """A ``playground`` command in its own process, logging to a file; ``start``/``stop``/
    ``kill`` (SIGKILL, for fault tests) can be called repeatedly with the same environment."""

    what = "process"

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path | None) -> None:
        self.command = command
        self.env = {**os.environ, **env}
        self.env.setdefault("HF_HUB_OFFLINE", "1")
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def _ready(self) -> bool:
        raise NotImplementedError

    def _log_since_start(self) -> bytes:
        return self.log_path.read_bytes()[self._log_offset :] if self.log_path else b""

    def start(self, timeout: float = 120):
        log = self.log_path or Path(os.devnull)
        self._log_offset = log.stat().st_size if self.log_path and log.exists() else 0
        # The child keeps its own copy of the descriptor; ours closes right away.
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", *self.command],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.what} exited with {self.proc.returncode}; log: {self.log_path}"
                )
            if self._ready():
                return self
            time.sleep(0.2)
        self.kill()
        raise TimeoutError(f"{self.what} was not ready in {timeout} s")

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


class ServerProcess(_ChildProcess):
    """``playground serve`` on a free loopback port (the same one across restarts); ready once
    ``/api/v1/health`` answers."""

    what = "server"

    def __init__(
        self,
        env: dict[str, str],
        port: int | None = None,
        log_path: Path | None = None,
        args: list[str] | None = None,
    ):
        self.port = port or free_port()
        env = {**env, "MP_HOST": "127.0.0.1", "MP_PORT": str(self.port)}
        super().__init__(["serve", *(args or [])], env, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 120) -> ServerProcess:
        return super().start(timeout)


class WorkerProcess(_ChildProcess):
    """``playground worker``; ready once its log says so (it has no HTTP)."""

    what = "worker"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(["worker"], env, log_path)

    def _ready(self) -> bool:
        return b"worker ready" in self._log_since_start()

    def start(self, timeout: float = 120) -> WorkerProcess:
        return super().start(timeout)

    def stop(self, timeout: float = 30) -> None:
        super().stop(timeout)
