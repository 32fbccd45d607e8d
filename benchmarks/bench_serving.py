"""Serving speed: a cold `imagesearch search` and `score`, and `imagesearch serve` at several concurrencies.

    python -m benchmarks.bench_serving [--index data/index] [--seconds 10] [--concurrency 1 4 20]
    python -m benchmarks.bench_serving --no-server --cli-runs 3 --baseline /work/main  # cold CLI only
    python -m benchmarks.bench_serving --cli-runs 0 --score-runs 3 --no-server   # score only
    python -m benchmarks.bench_serving --cli-runs 0 --score-runs 0 --index /tmp/million_index --concurrency 1 \
        --serve-baseline OTHER_CHECKOUT --rounds 4

Cold CLI: wall time of whole `imagesearch search` processes (Python start, imports, index load,
one query), an English and a Russian query; with ``--baseline CHECKOUT``, the same commands of
another checkout (its .venv, its code, its data/index) in turns with this one's, so both see the
same machine load; the load average is printed beside. Server: one `imagesearch serve` (started as in ``bench_load``); for each
concurrency level, closed-loop clients search for ``--seconds`` (a refused client waits its
``Retry-After``; ``--retry-after ignore`` sends at once); p50/p95/p99 of the answered searches,
answered searches per second with the ratio to the first level in the same run, and the 503s.

Cold score (``--score-runs``): whole `imagesearch score` processes on a catalog photo, a blocked
one, a new photo (a PNG copy of the catalog photo: other bytes, so embedded, in float32), the new
photo embedded in float64 and, as the baseline, on 2 torch/BLAS/ONNX threads (the defaults before
the cap), and a cold search; each quiet and then beside a second CPU-bound process (a Python busy
loop), the cases interleaved run by run (a shared machine's load drifts), median of the runs, with
the busy/quiet ratio and the load average.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_load import QUERIES, REPO, free_port, percentile, start_server
from benchmarks.bench_production import drive


COLD_QUERIES = {"English": "a dog running on grass", "Russian": "собака бежит по траве"}


def cold_search(checkout: Path, index: Path, query: str) -> float:
    """Seconds of one `imagesearch search` process of ``checkout`` (its venv's Python, its code)."""
    python = checkout / ".venv" / "bin" / "python" if checkout != REPO else Path(sys.executable)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(checkout)}
    began = time.perf_counter()
    subprocess.run([str(python), "-m", "imagesearch.serving.cli", "search", query, "-k", "5", "--index", str(index)],
                   check=True, capture_output=True, env=env, cwd=checkout)
    return time.perf_counter() - began


def cold_cli(index: Path, runs: int, baseline: Path | None = None) -> None:
    """Median cold search per query language, this checkout (and ``baseline``'s, in turns)."""
    sides = {"this": (REPO, index)} | ({"baseline": (baseline, baseline / "data" / "index")} if baseline else {})
    for language, query in COLD_QUERIES.items():
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(runs):
            for name, (checkout, folder) in sides.items():
                times[name].append(cold_search(checkout, folder, query))
        medians = {name: statistics.median(values) for name, values in times.items()}
        line = ", ".join(f"{name} median {medians[name]:.2f} s (runs {' '.join(f'{t:.2f}' for t in times[name])})"
                         for name in sides)
        ratio = f", {medians['baseline'] / medians['this']:.2f}x faster" if baseline else ""
        print(f"cold CLI search, {language} ({query!r}): {line}{ratio}; load average {load_average()}")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


SCORE_TEXT = "a dog runs on the grass"
SCORER = ("import sys; from imagesearch.serving.scoring import ImageScorer; "
          "print(ImageScorer.load(sys.argv[1], {}).score(sys.argv[2], sys.argv[3]))")


def score_cases(index: Path, folder: Path) -> dict[str, list[str]]:
    """The command line of each cold `score` case (and a cold search), on this index's photos."""
    import pandas as pd
    from PIL import Image

    from imagesearch import paths
    from imagesearch.data.catalog import catalog_images

    indexed = pd.read_parquet(index / "catalog.parquet")
    catalog_photo = REPO / indexed["path"].iloc[0]
    catalog = catalog_images(pd.read_parquet(REPO / paths.IMAGES))
    blocked = catalog.loc[~catalog["image"].isin(indexed["image"]), "path"]
    new_photo = folder / "new.png"
    Image.open(catalog_photo).save(new_photo)
    cli = [sys.executable, "-m", "imagesearch.serving.cli"]
    score = [*cli, "score", "--index", str(index), "--text", SCORE_TEXT, "--image"]
    cases = {"search (baseline)": [*cli, "search", SCORE_TEXT, "-k", "5", "--index", str(index)],
             "score, catalog photo": [*score, str(catalog_photo)],
             "score, new photo": [*score, str(new_photo)],
             "score, new photo, float64": [sys.executable, "-c", SCORER.format("precision='float64'"),
                                           str(index), str(new_photo), SCORE_TEXT],
             "score, new photo, 2 threads": [sys.executable, "-c", SCORER.format("threads=2"),
                                             str(index), str(new_photo), SCORE_TEXT]}
    if len(blocked):
        cases["score, blocked photo"] = [*score, str(REPO / blocked.iloc[0])]
    return cases


def timed_run(command: list[str]) -> float:
    """Wall time of one whole process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=REPO)
    return time.perf_counter() - began


def interleaved_medians(cases: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each case over ``runs`` rounds, one run of every case per round."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, command in cases.items():
            times[name].append(timed_run(command))
    return {name: statistics.median(found) for name, found in times.items()}


def beside_busy_process(measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``measure()`` while a second CPU-bound process (a Python busy loop) runs."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        return measure()
    finally:
        busy.kill()
        busy.wait()


def cold_score(index: Path, runs: int) -> None:
    print(f"cold CLI, median of {runs} runs each, quiet then beside a busy process "
          f"(load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}):")
    with tempfile.TemporaryDirectory() as folder:
        cases = score_cases(index, Path(folder))
        quiet = interleaved_medians(cases, runs)
        print(f"load average between: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        busy = beside_busy_process(lambda: interleaved_medians(cases, runs))
    print(f"{'case':<30} {'quiet s':>8} {'busy s':>8} {'busy/quiet':>10}")
    for name in cases:
        print(f"{name:<30} {quiet[name]:>8.2f} {busy[name]:>8.2f} {busy[name] / quiet[name]:>9.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


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
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout (e.g. main's) whose cold CLI runs in turns with this one's")
    parser.add_argument("--score-runs", type=int, default=3, help="cold `score` runs per case (0: skip)")
    parser.add_argument("--no-server", action="store_true", help="only the cold CLI runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="closed-loop searching per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 20])
    parser.add_argument("--queries", choices=["en", "ru", "mixed"], default="en",
                        help="distinct texts: the 500 test queries in English, their Russian "
                             "translations, or both interleaved (from data/; the built-in list if absent)")
    parser.add_argument("--batch", type=int, nargs="+", default=[0],
                        help="micro-batch sizes to serve with, one server each (0: no batching)")
    parser.add_argument("--serve-baseline", type=Path, default=None,
                        help="another checkout (its code, e.g. a copy with an older module) whose server "
                             "runs in turns with this one's, on the same index")
    parser.add_argument("--rounds", type=int, default=1, help="servers per side, in turns")
    parser.add_argument("--serve-options", default="", help='more `imagesearch serve` options, e.g. "--max-waiting 4"')
    parser.add_argument("--retry-after", choices=["honour", "ignore"], default="honour",
                        help="a refused (503) client waits its Retry-After before its next search (a "
                             "well-behaved client), or sends it at once")
    args = parser.parse_args(argv)
    args.texts = test_queries(args.queries)
    print(f"{len(args.texts)} distinct query texts ({args.queries})")

    if args.cli_runs:
        cold_cli(args.index, args.cli_runs, args.baseline)
    if args.score_runs:
        cold_score(args.index, args.score_runs)
    sides = {"this": REPO} | ({"baseline": args.serve_baseline} if args.serve_baseline else {})
    for batch in [] if args.no_server else args.batch:
        for _ in range(args.rounds):
            for name, checkout in sides.items():
                print(f"server ({name}: {checkout}), micro-batch {batch or 'off'}, load average {load_average()}:")
                serve(args, ("--batch", str(batch), *shlex.split(args.serve_options)), checkout)
    return 0


def serve(args: argparse.Namespace, extra: tuple[str, ...], checkout: Path = REPO) -> None:
    """Closed-loop clients (``bench_production``'s lean HTTP client: httpx's own CPU at 20
    connections skews a 2-core machine) for ``--seconds`` per concurrency level."""
    port = free_port()
    server = start_server(args.index, port, extra=extra, repo=checkout)
    try:
        baseline = None
        print(f"{'concurrency':>11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'vs 1':>6} "
              f"{'503s':>5} errors")
        for concurrency in args.concurrency:
            asyncio.run(drive(port, args.texts, 1, 1.0, True))  # warm
            began = time.perf_counter()
            tally = asyncio.run(drive(port, args.texts, concurrency, args.seconds, args.retry_after == "honour"))
            rps = len(tally.ok) / (time.perf_counter() - began)
            baseline = baseline or rps
            ms = [1000 * s for s in tally.ok]
            print(f"{concurrency:>11} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
                  f"{percentile(ms, 99):>8.1f} {rps:>7.1f} {rps / baseline:>5.2f}x {len(tally.shed):>5} "
                  f"{dict(tally.errors) or 0}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    raise SystemExit(main())
