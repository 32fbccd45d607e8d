"""Load test of `imagesearch serve`: N requests at concurrency C against a real uvicorn server.

    python -m benchmarks.bench_load --index data/index               # 1,000 requests, 20 at a time
    python -m benchmarks.bench_load --index IDX --requests 200 --concurrency 5 --images

Starts the server as a user would (``python -m imagesearch.serving.cli serve``) on 127.0.0.1 and a free
port, waits for /readyz, fires the requests with httpx's async client and prints the errors,
p50/p95/max latency and requests per second. Queries cycle through a fixed list (allowed and
blocked ones, so both paths are measured); ``--images`` also fetches every result's image.
Exit status 1 if any request failed. Overload, shutdown and readiness: ``benchmarks/bench_production.py``.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

log = logging.getLogger("bench_load")

REPO = Path(__file__).resolve().parents[1]
QUERIES = [
    "two dogs play in the snow", "a man rides a bicycle down a street", "a black dog running on grass",
    "people sitting at a table in a restaurant", "a surfer rides a wave", "a woman in a red coat",
    "a little girl playing",  # blocked: the disclaimer path
    "mountains behind a lake", "a crowd watching a concert", "a brown horse in a field",
    "a child on a swing",     # blocked
    "two men playing basketball",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(index: Path, port: int, timeout: float = 300.0, extra: tuple[str, ...] = (),
                 repo: Path = REPO) -> subprocess.Popen:
    """Start `imagesearch serve` (the code in ``repo``: another checkout serves as a baseline) and
    return once /readyz is green, or /healthz for a server without /readyz (its load time is logged)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(repo)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "imagesearch.serving.cli", "serve", "--index", str(index),
                                "--port", str(port), *extra], cwd=repo, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = "/readyz"
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            status = httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code
            if status == 404:
                probe = "/healthz"
            if status == 200:
                log.info("server up in %.1f s: %s", time.perf_counter() - started,
                         httpx.get(f"http://127.0.0.1:{port}/healthz").json())
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


async def fire(base: str, n: int, concurrency: int, k: int, images: bool,
               queries: list[str] | None = None) -> tuple[list[float], Counter]:
    """Send ``n`` searches (cycling through ``queries``, default :data:`QUERIES`), at most
    ``concurrency`` in flight; latencies (s) and error counts."""
    queries = queries or QUERIES
    latencies: list[float] = []
    errors: Counter = Counter()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        async def one(i: int) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    response = await client.get("/api/search", params={"q": queries[i % len(queries)], "k": k})
                    if response.status_code != 200:
                        errors[f"HTTP {response.status_code}"] += 1
                        return
                    if images:
                        for hit in response.json()["results"]:
                            image = await client.get(hit["url"])
                            if image.status_code != 200 or not image.content:
                                errors[f"image HTTP {image.status_code}"] += 1
                                return
                except httpx.HTTPError as err:
                    errors[type(err).__name__] += 1
                    return
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one(i) for i in range(n)))
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "data" / "index")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--images", action="store_true", help="also fetch each result's image")
    parser.add_argument("--url", help="an already running server instead of starting one")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    process = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        port = free_port()
        process = start_server(args.index, port)
        base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(fire(base, min(args.concurrency, 20), args.concurrency, args.k, args.images))  # warm-up
        started = time.perf_counter()
        latencies, errors = asyncio.run(fire(base, args.requests, args.concurrency, args.k, args.images))
        elapsed = time.perf_counter() - started
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)

    ms = sorted(1000 * x for x in latencies)
    print(f"index: {args.index if not args.url else base}")
    print(f"requests: {args.requests}  concurrency: {args.concurrency}  k: {args.k}  images: {args.images}")
    print(f"errors: {sum(errors.values())} {dict(errors) if errors else ''}".rstrip())
    if ms:
        print(f"latency ms: p50 {percentile(ms, 50):.1f}  p95 {percentile(ms, 95):.1f}  max {ms[-1]:.1f}")
    print(f"throughput: {args.requests / elapsed:.1f} requests/s over {elapsed:.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
