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


def hold_first_task(client, task_name: str, claim: Path) -> str:
    """Register a worker plugin that holds the first worker about to run a task whose key contains
    ``task_name``, before the task starts, and writes that worker's PID to ``claim``: a test can then
    kill it mid-task by its PID however short the task is. Returns the plugin's name (unregister it)."""
    import cloudpickle
    from distributed.diagnostics.plugin import WorkerPlugin

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/

    class HoldFirstTask(WorkerPlugin):
        def __init__(self, task_name: str, claim: str, hold_s: float = 300.0) -> None:
            self.task_name, self.claim, self.hold_s = task_name, claim, hold_s

        def transition(self, key, start, finish, **kwargs) -> None:
            if finish != "executing" or self.task_name not in str(key):
                return
            try:  # created exclusively: one worker is held, the others (and the rerun) go on
                handle = os.open(self.claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(handle, str(os.getpid()).encode())
            os.close(handle)
            time.sleep(self.hold_s)  # the worker's event loop too: it neither runs nor reports

    name = f"hold-{task_name}"
    client.register_plugin(HoldFirstTask(task_name, str(claim)), name=name)
    return name


def held_worker_pid(claim: Path, wait_s: float = 300.0) -> int:
    """The PID that :func:`hold_first_task` wrote, once a worker is held."""
    deadline = time.monotonic() + wait_s
    while not (claim.is_file() and claim.read_text().strip()):
        assert time.monotonic() < deadline, f"no worker started a task within {wait_s:g} s"
        time.sleep(0.05)
    return int(claim.read_text())
