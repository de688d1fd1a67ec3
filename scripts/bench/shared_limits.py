"""Cost of shared limits per request: ``python -m scripts.bench.shared_limits`` (repo root).

Starts ``redis-server`` on a loopback port (Debian's package) and times, in one process and
interleaved round by round, what a request pays for its limits:

- the rate-limit check: in-process token bucket vs the ``limits`` moving window on Redis;
- a generation's admission (acquire + release): in-process counters vs the Redis script.

Prints microseconds per call (median of the rounds) and the Redis/in-process difference, which
is the overhead a request sees with ``MP_REDIS_URL`` set.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _run(url: str, calls: int, rounds: int) -> dict[str, list[float]]:
    from app.core.config import Settings
    from app.services import metrics
    from app.services.generation.limits import Admission, RateLimiter
    from app.services.generation.shared_limits import RedisAdmission, RedisRateLimiter

    settings = Settings(max_queue_per_model=10**6, max_concurrent_generations_per_key=0)
    limiters = {"local": RateLimiter(10**9), "redis": RedisRateLimiter(url, 10**9)}
    admissions = {"local": Admission(settings), "redis": RedisAdmission(settings, url)}
    out: dict[str, list[float]] = {}

    async def rate(name: str) -> float:
        limiter = limiters[name]
        started = time.perf_counter()
        for i in range(calls):
            await limiter.acquire(f"key-{i % 50}")
        return (time.perf_counter() - started) / calls * 1e6

    async def admit(name: str) -> float:
        admission = admissions[name]
        started = time.perf_counter()
        for _ in range(calls):
            ticket = await admission.acquire("bench", None)
            ticket.release()
        await asyncio.sleep(0)  # let queued releases run (they are part of the cost)
        return (time.perf_counter() - started) / calls * 1e6

    for _ in range(rounds):
        for name in ("local", "redis"):
            out.setdefault(f"rate_{name}_us", []).append(await rate(name))
            out.setdefault(f"admission_{name}_us", []).append(await admit(name))
    await admissions["redis"].close()
    fallbacks = metrics.SHARED_LIMITS_FALLBACK.collect()[0].samples
    assert not [x for x in fallbacks if x.value], f"Redis calls failed during the run: {fallbacks}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = _port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )
        try:
            import redis

            client = redis.Redis(host="127.0.0.1", port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            print("CPU", Path("/proc/pressure/cpu").read_text().splitlines()[0])
            results = asyncio.run(_run(f"redis://127.0.0.1:{port}/0", args.calls, args.rounds))
        finally:
            proc.terminate()
            proc.wait(10)
    med = {k: statistics.median(v) for k, v in results.items()}
    for what in ("rate", "admission"):
        local, redis = med[f"{what}_local_us"], med[f"{what}_redis_us"]
        print(
            f"{what:9s}: in-process {local:7.1f} us, Redis {redis:7.1f} us per call "
            f"(+{redis - local:.1f} us a request, {redis / local:.0f}x)"
        )
    print("CPU", Path("/proc/pressure/cpu").read_text().splitlines()[0])


if __name__ == "__main__":
    main()
