"""Peak memory (RSS) of each pipeline stage and of the web server under a few requests.

Each stage runs as DVC runs it (``PYTHONPATH=. python stages/<name>.py``, a fresh process) in a
temporary copy of this checkout: code, params, and ``data/`` (the real data state) without the
embedding cache, so the embed stages embed every item (their realistic peak). The peak is the
process's own ``ru_maxrss``, read at its exit by a small wrapper. Then ``imagesearch serve`` on
the copy's ``data/index`` answers ``--requests`` searches while its RSS is sampled every 20 ms.

    python -m benchmarks.bench_memory [--repo DIR] [--stages validate labels ...] [--no-server]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared/datasets/dsplus_integrated_project_4"
COPIED = ["stages", "imagesearch", "dvc.yaml", "params.yaml", ".dvcignore"]
WRAPPER = """import resource, runpy, sys
script = sys.argv[1]
sys.argv = [script]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    print("MAXRSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""
QUERIES = ["a dog runs on the grass", "two people climbing a rock", "a man rides a bike",
           "a black dog swims in the water", "a surfer on a big wave", "people walk in a city street",
           "a snowboarder jumps", "a red car", "a brown horse", "a group of people at a concert"]


def make_copy(root: Path) -> Path:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    shutil.copytree(ROOT / "data", root / "data", ignore=shutil.ignore_patterns("cache", "__pycache__"),
                    symlinks=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["source"] = str(DATASET.resolve())
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def env_for(repo: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(repo), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def stage_order(repo: Path) -> list[str]:
    return list(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"])


def run_stage(repo: Path, name: str) -> tuple[float, float]:
    """(peak RSS MiB, wall seconds) of ``stages/<name>.py`` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, f"stages/{name}.py"], cwd=repo,
                          env=env_for(repo), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{done.stderr[-3000:]}")
    kib = int(done.stderr.rsplit("MAXRSS_KIB", 1)[1].split()[0])
    return kib / 1024, seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure_server(repo: Path, requests: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "imagesearch.serving.cli", "serve", "--port", str(port),
                               "--index", str(repo / "data/index")], cwd=repo, env=env_for(repo),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = psutil.Process(server.pid)
    peak = 0
    base = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        while True:
            peak = max(peak, tree_rss(proc))
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=1).read()  # 503 (an OSError) until warmed
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - start > 120:
                    raise SystemExit(f"server did not start:\n{server.stderr.read().decode()[-3000:]}")
                time.sleep(0.02)
        startup = time.perf_counter() - start
        idle = tree_rss(proc)
        latencies = []
        for i in range(requests):
            query = urllib.parse.quote(QUERIES[i % len(QUERIES)])
            t0 = time.perf_counter()
            urllib.request.urlopen(f"{base}/api/search?q={query}&k=10", timeout=30).read()
            latencies.append(time.perf_counter() - t0)
            peak = max(peak, tree_rss(proc))
        after = tree_rss(proc)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    return {"startup_s": startup, "idle_mib": idle / 2**20, "after_mib": after / 2**20,
            "peak_mib": peak / 2**20, "p50_ms": 1000 * latencies[len(latencies) // 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, help="a repo with the real data state (default: a temp copy)")
    parser.add_argument("--stages", nargs="*", help="stage names (default: all of dvc.yaml, in order)")
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    tmp = None
    if args.repo:
        repo = args.repo
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_memory_")
        repo = make_copy(Path(tmp.name))
    try:
        names = args.stages if args.stages is not None else stage_order(repo)
        print(f"{'process':<22} {'peak RSS MiB':>13} {'seconds':>8}")
        for name in names:
            mib, seconds = run_stage(repo, name)
            print(f"{'stage ' + name:<22} {mib:>13.0f} {seconds:>8.1f}", flush=True)
        if not args.no_server:
            server = measure_server(repo, args.requests)
            print(f"{'server (idle)':<22} {server['idle_mib']:>13.0f} {server['startup_s']:>8.1f}  (start-up s)")
            print(f"{'server (peak, ' + str(args.requests) + ' req)':<22} {server['peak_mib']:>13.0f} "
                  f"{server['p50_ms'] / 1000:>8.3f}  (p50 request s)")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
