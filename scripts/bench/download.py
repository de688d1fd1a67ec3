"""Download throughput: our downloader vs ``curl`` and ``hf_hub_download`` on the same file
from the same local server.

    .venv/bin/python scripts/bench/download.py [--size-mb 512] [--rounds 5]

Generates a file of ``--size-mb`` MiB, serves it with the project's Hub stand-in
(``backend/tests/helpers/hub_server.py``, its own process, sendfile fast path) as an LFS file of a
repo, then times, per round and in an order that rotates each round:

- ``curl -o`` of its resolve URL, and the same followed by ``sha256sum`` (our guarantee);
- one full download job through ``DownloadService`` (file list from the Hub API, resumable
  Range transfer, sha256 verification, rename into models/), with the socket read path;
- the same job with httpx's own 64 KiB reads (``BULK_MIN_BYTES`` raised past the file size):
  the A/B of the read path;
- ``huggingface_hub.hf_hub_download`` of the same file into a local folder (it verifies no hash;
  hf_xet needs a Xet storage server, which the stand-in is not, so it is not measured).

Prints a markdown table with each client's MB/s, its CPU seconds per GiB (client process only,
threads included; the machine may be shared, and CPU time is steadier than wall time there),
the ratios to curl, and ``/proc/pressure/cpu`` before and after. Read it as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "backend"))

REPO = "bench/blob"
FILE = "blob.bin"  # an LFS file (sha256) that the model check leaves alone


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


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _curl(url: str, out: Path) -> tuple[float, float, float, float]:
    """Seconds and CPU seconds of ``curl -o``, and of ``curl -o`` followed by ``sha256sum``
    (the same guarantee our downloader gives)."""
    os.sync()  # every run starts with no dirty pages left to write back
    cpu0 = _cpu_children()
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), url], check=True)
    fetched = time.perf_counter() - started
    cpu1 = _cpu_children()
    subprocess.run(["sha256sum", str(out)], check=True, capture_output=True)
    verified = time.perf_counter() - started
    cpu2 = _cpu_children()
    out.unlink()  # each run starts with the same free memory and page cache
    return fetched, cpu1 - cpu0, verified, cpu2 - cpu0


def _ours(hub_url: str, root: Path, run: int, socket_reads: bool) -> tuple[float, float]:
    """Seconds and CPU seconds of one download job (``socket_reads=False``: httpx's reads)."""
    os.environ["HF_ENDPOINT"] = hub_url
    os.environ["HF_HUB_OFFLINE"] = "0"
    from app.core.config import Settings
    from app.core.db import Database
    from app.schemas.downloads import DownloadRequest
    from app.services.downloads import DownloadService, transfer

    settings = Settings(models_dir=root / "models", data_dir=root / "data",
                        download_reserve_bytes=0)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    floor = transfer.BULK_MIN_BYTES
    transfer.BULK_MIN_BYTES = floor if socket_reads else sys.maxsize
    name = f"blob{run}{'s' if socket_reads else 'h'}"

    async def go() -> tuple[float, float]:
        service = DownloadService(settings, Database(settings.database_path))
        await service.start(resume_pending=False)
        os.sync()
        cpu0 = _cpu_self()
        started = time.perf_counter()
        job = await service.create(DownloadRequest(repo_id=REPO, name=name))
        job = await service.wait(job.id)
        elapsed = time.perf_counter() - started
        cpu = _cpu_self() - cpu0
        await service.shutdown()
        if job.status != "completed":
            raise SystemExit(f"our download {job.status}: {job.error}")
        return elapsed, cpu

    try:
        result = asyncio.run(go())
    finally:
        transfer.BULK_MIN_BYTES = floor
    shutil.rmtree(root / "models" / name)
    return result


def _hf(hub_url: str, root: Path) -> tuple[float, float]:
    """Seconds and CPU seconds of ``hf_hub_download`` into a local folder."""
    from huggingface_hub import hf_hub_download

    target = root / "hf"
    os.sync()
    cpu0 = _cpu_self()
    started = time.perf_counter()
    hf_hub_download(REPO, FILE, local_dir=target, endpoint=hub_url)
    elapsed = time.perf_counter() - started
    cpu = _cpu_self() - cpu0
    shutil.rmtree(target)
    return elapsed, cpu


CLIENTS = ("curl", "ours", "ours-httpx", "hf")
LABELS = {
    "curl": "curl -o",
    "curl+sha": "curl -o + sha256sum",
    "ours": "ours, socket reads",
    "ours-httpx": "ours, httpx reads",
    "hf": "hf_hub_download",
}


def _pressure() -> str:
    path = Path("/proc/pressure/cpu")
    return path.read_text().splitlines()[0] if path.exists() else "n/a"


def measure(size_mb: int, rounds: int) -> dict:
    """Every client on one file of ``size_mb`` MiB, ``rounds`` times in rotating order; the
    per-round seconds and CPU seconds, and the summary the suite reports (JSON-ready)."""
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")
    # seconds and CPU seconds per client and round
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in LABELS}
    import huggingface_hub  # noqa: F401 - a running server has it imported already
    pressure_before = _pressure()
    with tempfile.TemporaryDirectory(prefix="bench-dl-") as tmp:
        root = Path(tmp)
        (root / "repo").mkdir()
        source = root / "repo" / FILE
        _make_file(source, size_mb)
        size = source.stat().st_size
        hub, hub_url = _start_hub(root / "repo")
        try:
            file_url = f"{hub_url}/{REPO}/resolve/main/{FILE}"
            _curl(file_url, root / "warm.bin")  # source file in page cache for every client
            for run in range(rounds):
                shift = run % len(CLIENTS)
                for client in CLIENTS[shift:] + CLIENTS[:shift]:
                    if client == "curl":
                        fetched, cpu, verified, cpu_all = _curl(file_url, root / "curl.bin")
                        runs["curl"].append((fetched, cpu))
                        runs["curl+sha"].append((verified, cpu_all))
                    elif client == "hf":
                        runs["hf"].append(_hf(hub_url, root))
                    else:
                        runs[client].append(_ours(hub_url, root, run, client == "ours"))
        finally:
            hub.terminate()
            hub.wait()
    return _summary(runs, size, pressure_before)


def _summary(runs: dict[str, list[tuple[float, float]]], size: int, before: str) -> dict:
    mb, gib = size / 1e6, size / 2**30
    clients = {}
    for key, label in LABELS.items():
        rows = runs[key]
        clients[key] = {
            "label": label,
            "mb_s": [mb / s for s, _ in rows],
            "median_mb_s": _median([mb / s for s, _ in rows]),
            "cpu_s_per_gib": _median([c / gib for _, c in rows]),
            # per round, against the curl run of the same round
            "ratio_to_curl": _median([runs["curl"][i][0] / s for i, (s, _) in enumerate(rows)]),
        }
    ab = [h / s for (s, _), (h, _) in zip(runs["ours"], runs["ours-httpx"], strict=True)]
    checked = [v / s for (s, _), (v, _) in zip(runs["ours"], runs["curl+sha"], strict=True)]
    return {
        "size_bytes": size,
        "rounds": len(runs["curl"]),
        "cpu_pressure_before": before,
        "cpu_pressure_after": _pressure(),
        "clients": clients,
        "ab_socket_vs_httpx": _median(ab),
        "ours_vs_curl_sha": _median(checked),
    }


def markdown(result: dict) -> str:
    """The table of one :func:`measure` result."""
    rounds = result["rounds"]
    lines = [
        "| client | " + " | ".join(f"round {i + 1}" for i in range(rounds))
        + " | median MB/s | CPU s/GiB (median) | median of per-round ratio to curl |",
        "|---|" + "---|" * (rounds + 3),
    ]
    for row in result["clients"].values():
        lines.append(f"| {row['label']} | " + " | ".join(f"{v:.0f}" for v in row["mb_s"])
                     + f" | {row['median_mb_s']:.0f} | {row['cpu_s_per_gib']:.2f}"
                     f" | {row['ratio_to_curl']:.2f} |")
    return "\n".join(lines) + (
        f"\n\nA/B socket reads vs httpx reads (time ratio, median): "
        f"{result['ab_socket_vs_httpx']:.2f}x faster; ours / (curl + sha256sum), median: "
        f"{result['ours_vs_curl_sha']:.2f}."
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=512, help="file size in MiB")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds; the clients' order rotates by one each round")
    parser.add_argument("--json", type=Path, help="also write the result here (the suite does)")
    args = parser.parse_args()
    result = measure(args.size_mb, args.rounds)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(f"File: {result['size_bytes']:,} bytes, served by tests/helpers/hub_server.py on "
          "127.0.0.1")
    print(f"CPU pressure before: {result['cpu_pressure_before']}")
    print(f"CPU pressure after:  {result['cpu_pressure_after']}")
    print("\n" + markdown(result))


if __name__ == "__main__":
    main()
