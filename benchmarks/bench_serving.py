"""Serving speed: a cold `imagesearch search`, and `imagesearch serve` at several concurrencies.

    python -m benchmarks.bench_serving [--index data/index] [--requests 200] [--concurrency 1 4 20]

Cold CLI: wall time of whole `imagesearch search` processes (Python start, imports, index load,
one query). Server: one `imagesearch serve` (started and fired at as in ``bench_load``); for each
concurrency level, ``--requests`` searches; latency p50/p95/p99 and throughput, with the
throughput ratio to concurrency 1 measured in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_load import QUERIES, REPO, fire, free_port, percentile, start_server


def cold_cli(index: Path, runs: int) -> list[float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    times = []
    for i in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "imagesearch.serving.cli", "search", QUERIES[i % len(QUERIES)],
                        "-k", "5", "--index", str(index)], check=True, capture_output=True, env=env, cwd=REPO)
        times.append(time.perf_counter() - began)
    return times


def test_queries(language: str) -> list[str]:
    """The test queries (English, Russian or interleaved), or bench_load's list without the data."""
    english, russian = REPO / "data/clean/test_queries.parquet", REPO / "data/translations/test_queries_ru.tsv"
    if not english.is_file() or (language != "en" and not russian.is_file()):
        return list(QUERIES)
    import pandas as pd

    texts = {"en": list(pd.read_parquet(english)["query_text"])}
    if language != "en":
        texts["ru"] = list(pd.read_csv(russian, sep="\t", quoting=3)["query_ru"])
    if language == "mixed":
        return [text for pair in zip(texts["en"], texts["ru"]) for text in pair]
    return texts[language]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=REPO / "data" / "index")
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 20])
    parser.add_argument("--queries", choices=["en", "ru", "mixed"], default="en",
                        help="distinct texts: the 500 test queries in English, their Russian "
                             "translations, or both interleaved (from data/; the built-in list if absent)")
    parser.add_argument("--batch", type=int, nargs="+", default=[0],
                        help="micro-batch sizes to serve with, one server each (0: no batching)")
    args = parser.parse_args(argv)
    args.texts = test_queries(args.queries)
    print(f"{len(args.texts)} distinct query texts ({args.queries})")

    if args.cli_runs:
        times = cold_cli(args.index, args.cli_runs)
        print(f"cold CLI search: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
              f"max {max(times):.2f} s over {len(times)} runs")
    for batch in args.batch:
        print(f"server, micro-batch {batch or 'off'}:")
        serve(args, ("--batch", str(batch)))
    return 0


def serve(args: argparse.Namespace, extra: tuple[str, ...]) -> None:
    port = free_port()
    server = start_server(args.index, port, extra=extra)
    try:
        base, baseline = f"http://127.0.0.1:{port}", None
        print(f"{'concurrency':>11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'vs 1':>6} errors")
        for concurrency in args.concurrency:
            asyncio.run(fire(base, 10, 1, 10, False))  # warm
            began = time.perf_counter()
            latencies, errors = asyncio.run(fire(base, args.requests, concurrency, 10, False, args.texts))
            rps = len(latencies) / (time.perf_counter() - began)
            baseline = baseline or rps
            ms = [1000 * s for s in latencies]
            print(f"{concurrency:>11} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
                  f"{percentile(ms, 99):>8.1f} {rps:>7.1f} {rps / baseline:>5.2f}x {sum(errors.values())}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    raise SystemExit(main())
