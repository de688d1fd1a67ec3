"""Quantization through the real server: outputs that load and generate on llama.cpp, an HF
folder converted and quantized, lineage in the model listing, cancel, and a failing tool."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import httpx
from gguf import GGUFReader

from tests.helpers.server import ServerProcess
from tests.quantize.conftest import dot_entries, follow, wait_for


def _generate(url: str, model: str) -> dict:
    r = httpx.post(
        f"{url}/api/v1/models/generate",
        json={"model": model, "prompt": "def ", "max_tokens": 8, "temperature": 0},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _processes_naming(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _local(url: str) -> dict[str, dict]:
    listing = httpx.get(f"{url}/api/v1/models", timeout=30).json()
    return {m["id"]: m for m in listing["local"]}


def test_gguf_quantized_to_three_types_loads_and_generates(
    quantize_server: ServerProcess, quantize_root: Path
):
    url = quantize_server.url
    r = httpx.post(
        f"{url}/api/v1/models/tiny-f16.gguf/quantize",
        json={"types": ["q8_0", "q4_0", "Q4_K_M"]},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running") and job["total"] == 3
    assert job["warning"] is None  # an f16 source
    assert [o["model_id"] for o in job["outputs"]] == [
        "tiny-q8_0.gguf",
        "tiny-q4_0.gguf",
        "tiny-q4_k_m.gguf",
    ]
    events = follow(url, job["id"])
    assert events[-1]["status"] == "completed", events[-1]
    # Progress came per output: each type was reported running before it was done.
    running = {o["type"] for e in events for o in e["outputs"] if o["status"] == "running"}
    assert running <= {"q8_0", "q4_0", "q4_k_m"}
    assert all(e["stage"] in ("queued", "quantizing", "done") for e in events)

    models = quantize_root / "models"
    assert dot_entries(models) == []
    local = _local(url)
    sizes = {}
    for type_name in ("q8_0", "q4_0", "q4_k_m"):
        name = f"tiny-{type_name}.gguf"
        lineage = local[name]["lineage"]
        size = (models / name).stat().st_size
        params = sum(int(t.n_elements) for t in GGUFReader(models / name).tensors)
        assert lineage["parent"] == "tiny-f16.gguf"
        assert lineage["type"] == type_name
        assert lineage["job_id"] == job["id"]
        assert lineage["size_bytes"] == size == local[name]["size_bytes"]
        assert lineage["parameters"] == params
        assert abs(lineage["bits_per_weight"] - size * 8 / params) < 0.01
        sizes[type_name] = size
        out = _generate(url, name)
        assert out["usage"]["completion_tokens"] > 0
        assert out["timings"]["backend"] == "llamacpp"
    assert sizes["q4_0"] < sizes["q8_0"]
    assert local["tiny-f16.gguf"]["lineage"] is None
    # The job keeps its outputs' measures.
    done = httpx.get(f"{url}/api/v1/quantizations/{job['id']}", timeout=30).json()
    assert [o["status"] for o in done["outputs"]] == ["done"] * 3
    assert done["current"] == 3 and done["stage"] == "done"


def test_hf_folder_is_converted_then_quantized(quantize_server: ServerProcess, quantize_root: Path):
    url = quantize_server.url
    r = httpx.post(f"{url}/api/v1/models/tiny/quantize", json={"types": ["q5_0"]}, timeout=30)
    assert r.status_code == 202, r.text
    assert r.json()["source_format"] == "hf"
    events = follow(url, r.json()["id"])
    assert events[-1]["status"] == "completed", events[-1]
    assert "converting" in {e["stage"] for e in events}
    assert dot_entries(quantize_root / "models") == []  # the f16 conversion is gone too
    lineage = _local(url)["tiny-q5_0.gguf"]["lineage"]
    assert lineage["parent"] == "tiny" and lineage["type"] == "q5_0"
    assert _generate(url, "tiny-q5_0.gguf")["usage"]["completion_tokens"] > 0


def test_cancel_mid_job_leaves_nothing(quantize_server: ServerProcess, quantize_root: Path):
    url = quantize_server.url
    models = quantize_root / "models"
    before = sorted(p.name for p in models.iterdir())
    r = httpx.post(f"{url}/api/v1/models/tiny/quantize", json={"types": ["q6_k"]}, timeout=30)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    # Cancel while the converter child is writing its f16 file.
    wait_for(lambda: dot_entries(models), what="a partial file")
    cancelled = httpx.post(f"{url}/api/v1/quantizations/{job_id}/cancel", timeout=60)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert dot_entries(models) == []
    assert sorted(p.name for p in models.iterdir()) == before
    # The child was killed: nothing appears later either.
    import time

    time.sleep(1.5)
    assert dot_entries(models) == [] and sorted(p.name for p in models.iterdir()) == before
    again = httpx.post(f"{url}/api/v1/quantizations/{job_id}/cancel", timeout=30)
    assert again.status_code == 409
    assert httpx.delete(f"{url}/api/v1/quantizations/{job_id}", timeout=30).status_code == 204
    assert httpx.get(f"{url}/api/v1/quantizations/{job_id}", timeout=30).status_code == 404


def test_a_failing_conversion_fails_the_job_and_leaves_no_file(
    quantize_server: ServerProcess, quantize_root: Path
):
    """An HF folder llama.cpp's converter does not know: accepted (it looks like a model),
    then failed with the converter's reason, and nothing is left behind."""
    models = quantize_root / "models"
    odd = models / "odd-arch"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"architectures": ["NoSuchForCausalLM"]}))
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (odd / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    url = quantize_server.url
    r = httpx.post(f"{url}/api/v1/models/odd-arch/quantize", json={"types": ["q8_0"]}, timeout=30)
    assert r.status_code == 202, r.text
    final = follow(url, r.json()["id"])[-1]
    assert final["status"] == "failed", final
    assert "converter" in final["error"] and final["error_code"] == "quantize_failed"
    assert dot_entries(models) == []
    assert not (models / "odd-arch-q8_0.gguf").exists()


def test_a_job_killed_with_the_server_runs_again_from_scratch_after_a_restart(
    tmp_path: Path, tiny_model_dir: Path, tiny_gguf: Path
):
    """SIGKILL mid-conversion leaves a partial file and a running row; the next start deletes
    the partial file, runs the job from the start and completes it once."""
    from tests.helpers.server import tiny_server
    from tests.quantize.conftest import quantize_models_dir

    models = quantize_models_dir(tmp_path, tiny_model_dir, tiny_gguf)
    (tmp_path / "data").mkdir()
    server = tiny_server(models, tmp_path / "data").start()
    try:
        r = httpx.post(
            f"{server.url}/api/v1/models/tiny/quantize", json={"types": ["q4_0"]}, timeout=30
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        wait_for(lambda: dot_entries(models), what="a partial file")
        server.kill()
        left = dot_entries(models)
        assert left and all(job_id in name for name in left), left
        # The converter child died with the server: nothing writes on behind the next run.
        wait_for(lambda: not _processes_naming(job_id), timeout=10, what="the child to die")
        server.start()
        final = follow(server.url, job_id)[-1]
        assert final["status"] == "completed", final
        assert dot_entries(models) == []
        assert (models / "tiny-q4_0.gguf").is_file()
        lineage = _local(server.url)["tiny-q4_0.gguf"]["lineage"]
        assert lineage["job_id"] == job_id and lineage["parent"] == "tiny"
    finally:
        server.stop()


def test_a_quantized_source_is_allowed_with_a_warning(
    quantize_server: ServerProcess, quantize_root: Path
):
    url = quantize_server.url
    first = httpx.post(
        f"{url}/api/v1/models/tiny-f16.gguf/quantize", json={"types": ["q5_k_s"]}, timeout=30
    )
    assert first.status_code == 202, first.text
    assert follow(url, first.json()["id"])[-1]["status"] == "completed"
    # tiny-q5_k_s.gguf -> stem "tiny": the output is tiny-q3_k_m.gguf.
    again = httpx.post(
        f"{url}/api/v1/models/tiny-q5_k_s.gguf/quantize", json={"types": ["q3_k_m"]}, timeout=30
    )
    assert again.status_code == 202, again.text
    assert "quantized already (Q5_K_S)" in again.json()["warning"]
    final = follow(url, again.json()["id"])[-1]
    assert final["status"] == "completed", final
    assert final["warning"] == again.json()["warning"]
    lineage = _local(url)["tiny-q3_k_m.gguf"]["lineage"]
    assert lineage["parent"] == "tiny-q5_k_s.gguf" and lineage["type"] == "q3_k_m"
    assert _generate(url, "tiny-q3_k_m.gguf")["usage"]["completion_tokens"] > 0
