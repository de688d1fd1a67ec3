"""Download throughput: our downloader vs ``curl`` on the same file from the same local server.

    .venv/bin/python scripts/bench/download.py [--size-mb 512]

Generates a file of ``--size-mb`` MiB, serves it with the project's Hub stand-in
(``backend/tests/helpers/hub_server.py``, its own process, sendfile fast path) as an LFS file of a
repo, then times one ``curl -o`` of its resolve URL and one full download job through
``DownloadService`` (file list from the Hub API, resumable Range transfer, sha256 verification,
rename into models/). Prints a markdown table and the ratio ours/curl (target >= 0.9). One run
each; the machine may be shared, so read it as a ratio, not as absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "backend"))

REPO = "bench/blob"
FILE = "blob.safetensors"


def _make_file(path: Path, size_mb: int) -> None:
    block = os.urandom(1 << 20)  # incompressible, repeated: generation stays fast
    with path.open("wb") as fh:
        for i in range(size_mb):
            fh.write(block[i % 251:] + block[: i % 251])


def _start_hub(folder: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.hub_server", "--repo", f"{REPO}={folder}"],
        cwd=REPO_ROOT / "backend", stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()  # printed once the repo is hashed and served
    return proc, url


def _curl(url: str, out: Path) -> tuple[float, float]:
    """Seconds of ``curl -o``, and of ``curl -o`` followed by ``sha256sum`` (the same
    guarantee our downloader gives)."""
    os.sync()  # both runs start with no dirty pages left to write back
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), url], check=True)
    fetched = time.perf_counter() - started
    subprocess.run(["sha256sum", str(out)], check=True, capture_output=True)
    verified = time.perf_counter() - started
    out.unlink()  # each run starts with the same free memory and page cache
    return fetched, verified


def _ours(hub_url: str, root: Path, run: int) -> float:
    os.environ["HF_ENDPOINT"] = hub_url
    os.environ["HF_HUB_OFFLINE"] = "0"
    from app.core.config import Settings
    from app.core.db import Database
    from app.schemas.downloads import DownloadRequest
    from app.services.downloads import DownloadService

    settings = Settings(models_dir=root / "models", data_dir=root / "data",
                        download_reserve_bytes=0)
    settings.models_dir.mkdir(parents=True, exist_ok=True)

    async def go() -> float:
        service = DownloadService(settings, Database(settings.database_path))
        await service.start(resume_pending=False)
        os.sync()
        started = time.perf_counter()
        job = await service.create(DownloadRequest(repo_id=REPO, name=f"blob{run}"))
        job = await service.wait(job.id)
        elapsed = time.perf_counter() - started
        await service.shutdown()
        if job.status != "completed":
            raise SystemExit(f"our download {job.status}: {job.error}")
        return elapsed

    elapsed = asyncio.run(go())
    shutil.rmtree(root / "models" / f"blob{run}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=512, help="file size in MiB")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds (order alternates: curl first in odd rounds)")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")
    rows: list[tuple[float, float, float]] = []
    import huggingface_hub  # noqa: F401 - a running server has it imported already
    with tempfile.TemporaryDirectory(prefix="bench-dl-") as tmp:
        root = Path(tmp)
        (root / "repo").mkdir()
        source = root / "repo" / FILE
        _make_file(source, args.size_mb)
        size = source.stat().st_size
        hub, hub_url = _start_hub(root / "repo")
        try:
            file_url = f"{hub_url}/{REPO}/resolve/main/{FILE}"
            _curl(file_url, root / "warm.bin")  # source file in page cache for both clients
            for run in range(args.rounds):
                if run % 2 == 0:
                    curl_s, checked_s = _curl(file_url, root / "curl.bin")
                    ours_s = _ours(hub_url, root, run)
                else:
                    ours_s = _ours(hub_url, root, run)
                    curl_s, checked_s = _curl(file_url, root / "curl.bin")
                rows.append((curl_s, checked_s, ours_s))
        finally:
            hub.terminate()
            hub.wait()
    mb = size / 1e6
    pressure = Path("/proc/pressure/cpu")
    print(f"File: {size:,} bytes, served by tests/helpers/hub_server.py on 127.0.0.1")
    if pressure.exists():
        print(f"CPU pressure after the runs: {pressure.read_text().splitlines()[0]}")
    print("\n| round | curl -o | curl -o + sha256sum | ours (list + transfer + sha256 + "
          "rename) | ours / curl | ours / (curl + sha256sum) |")
    print("|---|---|---|---|---|---|")
    for i, (curl_s, checked_s, ours_s) in enumerate(rows, 1):
        print(f"| {i} | {mb / curl_s:.0f} MB/s | {mb / checked_s:.0f} MB/s | "
              f"{mb / ours_s:.0f} MB/s | {curl_s / ours_s:.2f} | {checked_s / ours_s:.2f} |")
    raw = sorted(c / o for c, _, o in rows)
    checked = sorted(v / o for _, v, o in rows)
    print(f"\nours/curl: first run {rows[0][0] / rows[0][2]:.2f}, median {raw[len(raw) // 2]:.2f}; "
          f"ours/(curl + sha256sum): first run {rows[0][1] / rows[0][2]:.2f}, "
          f"median {checked[len(checked) // 2]:.2f}")


if __name__ == "__main__":
    main()
