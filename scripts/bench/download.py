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


def _curl(url: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), url], check=True)
    return time.perf_counter() - started


def _ours(hub_url: str, root: Path) -> float:
    os.environ["HF_ENDPOINT"] = hub_url
    os.environ["HF_HUB_OFFLINE"] = "0"
    from app.core.config import Settings
    from app.core.db import Database
    from app.schemas.downloads import DownloadRequest
    from app.services.downloads import DownloadService

    settings = Settings(models_dir=root / "models", data_dir=root / "data",
                        download_reserve_bytes=0)
    settings.models_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> float:
        service = DownloadService(settings, Database(settings.database_path))
        await service.start(resume_pending=False)
        started = time.perf_counter()
        job = await service.create(DownloadRequest(repo_id=REPO, name="blob"))
        while job.status not in ("completed", "failed", "cancelled"):
            await asyncio.sleep(0.01)
            job = service.info(service.get(job.id))
        elapsed = time.perf_counter() - started
        await service.shutdown()
        if job.status != "completed":
            raise SystemExit(f"our download {job.status}: {job.error}")
        return elapsed

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=512, help="file size in MiB")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-dl-") as tmp:
        root = Path(tmp)
        (root / "repo").mkdir()
        source = root / "repo" / FILE
        _make_file(source, args.size_mb)
        size = source.stat().st_size
        hub, hub_url = _start_hub(root / "repo")
        try:
            file_url = f"{hub_url}/{REPO}/resolve/main/{FILE}"
            _curl(file_url, root / "warm.bin")  # page cache warm for both runs
            (root / "warm.bin").unlink()
            curl_s = _curl(file_url, root / "curl.bin")
            (root / "curl.bin").unlink()
            ours_s = _ours(hub_url, root)
            assert (root / "models" / "blob" / FILE).stat().st_size == size
        finally:
            hub.terminate()
            hub.wait()
    mb = size / 1e6
    print(f"File: {size:,} bytes, served by tests/helpers/hub_server.py on 127.0.0.1\n")
    print("| client | seconds | MB/s |")
    print("|---|---|---|")
    print(f"| curl -o | {curl_s:.2f} | {mb / curl_s:.0f} |")
    print(f"| DownloadService (list + transfer + sha256 + rename) | {ours_s:.2f} | "
          f"{mb / ours_s:.0f} |")
    print(f"\nratio ours/curl: {curl_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
