"""requirements-*.txt: exact pins, and the GPU list stays in step with the CPU list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")


def pins(path: Path) -> dict[str, tuple[str, str]]:
    """name -> (version, trailing comment) for each requirement line; other lines must be -r."""
    found = {}
    for raw in path.read_text().splitlines():
        line, _, comment = raw.partition("#")
        line = line.strip()
        if not line or line.startswith("-r "):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {raw!r}"
        found[match[1].lower().replace("_", "-")] = (match[2], comment.strip())
    return found


@pytest.mark.parametrize(
    "name",
    [
        "requirements-cpu.txt",
        "requirements-gpu.txt",
        "requirements-dev.txt",
        "requirements-dev-nodeps.txt",
        "requirements-models.txt",
    ],
)
def test_every_requirement_is_an_exact_pin(name: str):
    assert pins(REPO_ROOT / name)


def test_gpu_requirements_cover_the_cpu_ones():
    cpu = pins(REPO_ROOT / "requirements-cpu.txt")
    gpu = pins(REPO_ROOT / "requirements-gpu.txt")
    missing = sorted(set(cpu) - set(gpu))
    assert not missing, (
        f"add to requirements-gpu.txt (same pin unless vLLM needs another): {missing}"
    )
    for name, (version, _) in cpu.items():
        gpu_version, comment = gpu[name]
        # A different version is allowed only with a "gpu:" comment saying why.
        assert gpu_version == version or comment.startswith("gpu:"), (
            f"{name}: cpu {version}, gpu {gpu_version} without a 'gpu:' reason"
        )
    assert "vllm" in gpu and gpu["torch"][0] == cpu["torch"][0]


def test_pin_parser_rejects_loose_requirements(tmp_path: Path):
    loose = tmp_path / "requirements.txt"
    loose.write_text("fastapi>=0.100\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        pins(loose)
