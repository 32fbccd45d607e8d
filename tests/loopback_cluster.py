"""A real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as separate processes
(the tests of :mod:`imagesearch.cluster` and ``benchmarks/bench_cluster.py`` use them)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from imagesearch.cluster import WORKER_DASK_ENV


def start_scheduler(folder: Path) -> tuple[str, subprocess.Popen]:
    """``dask scheduler`` on a free loopback port; returns its address once it listens."""
    info = folder / "scheduler.json"
    process = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                "--port", "0", "--dashboard-address", "127.0.0.1:0",
                                "--scheduler-file", str(info)],
                               cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not info.is_file() or not info.read_text().strip():
        assert process.poll() is None and time.monotonic() < deadline, "dask scheduler did not start"
        time.sleep(0.1)
    time.sleep(0.2)  # the file is written in one go, but let it land
    return json.loads(info.read_text())["address"], process


def start_worker(address: str, folder: Path, python: list[str] | None = None,
                 env: dict[str, str] | None = None, nanny: bool = True, as_documented: bool = True) -> subprocess.Popen:
    """One ``dask worker`` process of one thread, started in ``folder`` (not the repo), with the
    environment docs/cluster.md gives workers (``as_documented`` False: Dask's defaults)."""
    command = (python or [sys.executable]) + ["-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                              "--no-dashboard", "--local-directory", str(folder)]
    if not nanny:
        command.append("--no-nanny")
    env = dict(os.environ if env is None else env, OPENBLAS_CORETYPE="Haswell", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")  # docs/cluster.md, "Workers"
    if as_documented:
        env.update(WORKER_DASK_ENV)
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
