"""Where a heavy stage runs: in this process (the default) or on a Dask cluster, chosen by one variable.

``IMAGESEARCH_SCHEDULER``:

- unset or empty: in this process, no cluster is started (today's run, zero set-up);
- ``local:N``: a ``LocalCluster`` of N worker processes with one thread each, started here and
  stopped when the stage ends (Dask's own config, ``DASK_*`` variables or ``~/.config/dask``,
  still applies to it: memory limits, spill folders, comm settings);
- ``tcp://host:port``: an existing Dask scheduler (its workers must see the same files and have
  this package importable; both are checked on connect, see :func:`check_workers`).

It is an environment variable and not a DVC param on purpose: every output is byte-identical
whichever scheduler ran the stage (``tests/test_cluster.py``), so it must not change a hash.

Faults: connecting is bounded by :data:`CONNECT_TIMEOUT_S` even when something that is not a Dask
scheduler accepts the connection (the client's handshake alone would then wait forever); a task
whose worker dies is rerun on another worker by the scheduler (the outputs are written by the
stage process only, after every task is back, so a lost worker never leaves half an output); a
task that raises stops the stage with an error naming its items (:class:`ClusterTaskError`).
"""
from __future__ import annotations

import builtins
import logging
import os
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

log = logging.getLogger(__name__)

ENV = "IMAGESEARCH_SCHEDULER"
#: Seconds to reach a scheduler and to see at least one worker there (Dask's default is 30 s).
CONNECT_TIMEOUT_S = 10.0
PACKAGE = "imagesearch"
#: Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (its config
#: ``distributed.nanny.pre-spawn-environ``). Setting it turns glibc's adaptive mmap threshold off:
#: every array over 128 KiB is then a fresh mmap whose pages fault in again, and the image encoder
#: spent about half its CPU time in the kernel. Workers started here get glibc's defaults, as a
#: stage run without a cluster has them; :func:`check_workers` warns about others.
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
#: The same for ``dask worker`` processes: this in their environment (docs/cluster.md, "Workers").
WORKER_DASK_ENV = {"DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON": '{"%s": None}' % MALLOC_TRIM}


class ClusterTaskError(RuntimeError):
    """A task raised on a worker; the message names the items it was working on."""


def scheduler_spec() -> tuple[str, int | str] | None:
    """``None`` (in-process), ``("local", N)`` or ``("tcp", address)`` from the environment."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    if spec.startswith("local:"):
        count = spec.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{ENV}={spec!r}: local:N needs N >= 1 worker processes")
        return "local", int(count)
    if spec.startswith("tcp://"):
        return "tcp", spec
    raise ValueError(f"{ENV}={spec!r}: expected local:N (a local cluster of N processes) or "
                     "tcp://host:port (an existing Dask scheduler); unset runs in this process")


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``Client`` of the scheduler at ``address``, or ``ConnectionError`` within ``timeout_s``.

    The client is built in a helper thread that is abandoned at the deadline: ``Client(timeout=)``
    bounds the TCP connect, not the handshake, which never ends when the listener is not Dask.
    """
    from dask.distributed import Client

    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            outcome["client"] = Client(address, timeout=f"{timeout_s}s")
        except BaseException as error:  # noqa: BLE001  (handed to the caller below)
            outcome["error"] = error

    thread = threading.Thread(target=attempt, name="dask-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + 2.0)
    if "client" in outcome:
        return outcome["client"]
    if "error" in outcome:
        error = outcome["error"]
        raise ConnectionError(f"{ENV}={address}: no Dask scheduler reachable within {timeout_s:g} s "
                              f"({type(error).__name__}: {error})") from error
    raise ConnectionError(f"{ENV}={address}: something accepted the connection but did not complete "
                          f"Dask's handshake within {timeout_s:g} s: is it a Dask scheduler's port "
                          "(default 8786, not the dashboard's 8787)?")


def _worker_view(folder: str) -> dict[str, Any]:
    """What a worker sees: whether it can import the package and read the stage's folder.

    Shipped by value (it must run where ``imagesearch`` itself may not import)."""
    import importlib.util
    import os as os_on_worker

    return {"package": importlib.util.find_spec("imagesearch") is not None,
            "folder": os_on_worker.path.isdir(folder),
            "blas": os_on_worker.environ.get("OPENBLAS_CORETYPE", ""),
            "malloc_trim": os_on_worker.environ.get("MALLOC_TRIM_THRESHOLD_", "")}


def check_workers(client: Any, folder: Path, timeout_s: float = CONNECT_TIMEOUT_S) -> int:
    """Fail with a message saying what is wrong unless every worker can run this project's tasks.

    Returns the number of workers. The check needs one worker to exist at least."""
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError as error:
        raise ConnectionError(f"{ENV}: the scheduler has no workers (waited {timeout_s:g} s): "
                              "start some with `dask worker <scheduler address>`") from error
    # a copy living in "__main__", so that Dask pickles its code rather than a reference into
    # imagesearch, which a worker without the package could not load
    probe = types.FunctionType(_worker_view.__code__, {"__name__": "__main__", "__builtins__": builtins},
                               _worker_view.__name__)
    views = client.run(probe, str(folder.resolve()))
    no_package = sorted(w for w, view in views.items() if not view["package"])
    if no_package:
        raise RuntimeError(f"{ENV}: workers {', '.join(no_package)} cannot import the project's "
                           f"package `{PACKAGE}`: install it in the workers' environment "
                           "(`pip install -e .` of this checkout, or the same requirements.txt) "
                           "and restart them")
    blind = sorted(w for w, view in views.items() if not view["folder"])
    if blind:
        raise RuntimeError(f"{ENV}: workers {', '.join(blind)} do not see the folder {folder.resolve()}: "
                           "they read the stage's files by path, so they need the same shared "
                           "filesystem mounted at the same place")
    from imagesearch.stage import BLAS_CORETYPE

    unpinned = sorted(w for w, view in views.items() if view["blas"] != BLAS_CORETYPE)
    if unpinned:
        log.warning("workers %s run without OPENBLAS_CORETYPE=%s: their float32 BLAS results, and "
                    "so the outputs, may differ in the last bits from an in-process run; start them "
                    "with that variable set", ", ".join(unpinned), BLAS_CORETYPE)
    trimming = sorted(w for w, view in views.items() if view["malloc_trim"])
    if trimming:
        log.warning("workers %s run with %s set (Dask's nanny sets it by default): large arrays then "
                    "page-fault on every allocation and the encoders run up to 2x slower; start them "
                    "with %s", ", ".join(trimming), MALLOC_TRIM,
                    " ".join(f"{k}='{v}'" for k, v in WORKER_DASK_ENV.items()))
    return len(views)


@contextmanager
def cluster_client(folder: Path = Path(".")) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for the configured scheduler, or None to run in-process.

    ``folder`` is where the stage reads its inputs: every worker must see it."""
    spec = scheduler_spec()
    if spec is None:
        yield None
        return
    from dask.distributed import Client, LocalCluster

    kind, value = spec
    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines drown the stage's
    cluster = None
    if kind == "local":
        import dask

        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{MALLOC_TRIM}": None}):
            cluster = LocalCluster(n_workers=int(value), threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        client = Client(cluster)
    else:
        client = connect(str(value))
    try:
        workers = check_workers(client, Path(folder))
        log.info("Dask cluster %s: %d workers, dashboard %s", os.environ[ENV].strip(), workers,
                 client.dashboard_link)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# What tasks built once in this worker process (a module global of an importable module: a global
# of a stage script would be rebuilt for every task).
_BUILT_ON_WORKER: dict[Any, Any] = {}


def once_per_worker(key: Any, build: Callable[[], Any]) -> Any:
    """``build()`` the first time a task of this worker process asks for ``key``, then the same
    object (a model that every task would otherwise load again)."""
    if key not in _BUILT_ON_WORKER:
        _BUILT_ON_WORKER[key] = build()
    return _BUILT_ON_WORKER[key]


def map_in_order(client: Any, function: Callable[..., Any], chunks: Sequence[Any], desc: str,
                 describe: Callable[[Any], str] = lambda chunk: repr(chunk)[:200],
                 shared: dict[str, Any] | None = None) -> list[Any]:
    """``[function(chunk, **shared) for chunk in chunks]`` on the cluster, results in input order,
    with a progress bar over completed tasks. ``shared`` values (a model, a catalog's image side)
    are sent to every worker once, not with every task.

    A task that raises cancels the rest and raises :class:`ClusterTaskError` naming
    ``describe(chunk)``; a task whose worker died is rerun elsewhere by the scheduler (up to
    Dask's ``distributed.scheduler.allowed-failures``), so it arrives here as a normal result."""
    from dask.distributed import as_completed

    chunks = list(chunks)
    # broadcast: every worker holds a copy, so a killed worker loses none of it
    scattered = {name: client.scatter(value, broadcast=True, hash=False) for name, value in (shared or {}).items()}
    futures = client.map(function, chunks, pure=False, **scattered)
    position = {future.key: i for i, future in enumerate(futures)}
    for future in tqdm(as_completed(futures), total=len(futures), desc=desc, unit="task"):
        if future.status == "error":
            error = future.exception()  # before the cancel, which forgets it
            chunk = chunks[position[future.key]]
            client.cancel(futures)
            raise ClusterTaskError(f"{desc}: the task for {describe(chunk)} failed on the cluster: "
                                   f"{type(error).__name__}: {error}") from error
    return client.gather(futures)


#: Tasks a stage's work is cut into at least (where it has that many items): more tasks than
#: workers, so that a slow or lost worker delays a share of the work, not half of it.
MIN_TASKS = 8


def chunk_slices(count: int, most: int, tasks: int = MIN_TASKS) -> list[slice]:
    """``count`` items cut into runs of at most ``most``, and into ``tasks`` runs at least where
    ``count`` allows: a function of ``count`` alone, so that in-process and cluster runs compute on
    the same chunks (a float computation whose bytes could depend on its batch then cannot differ)."""
    size = max(1, min(most, -(-count // tasks)))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


class Tasks:
    """Where a stage's chunks run: this process (``client`` None) or the cluster. Stages use it
    through :func:`tasks` / :func:`map_chunks` and never see Dask."""

    def __init__(self, client: Any = None) -> None:
        self.client = client

    def map(self, function: Callable[..., Any], chunks: Sequence[Any], desc: str,
            describe: Callable[[Any], str] = lambda chunk: repr(chunk)[:200],
            shared: dict[str, Any] | None = None, progress: bool = True) -> list[Any]:
        """``[function(chunk, **shared) for chunk in chunks]``, in input order, here or as cluster
        tasks (``desc`` gains `` (cluster)`` there); ``function`` must be a module-level function
        of an importable module so that workers can load it."""
        chunks = list(chunks)
        if self.client is None:
            return [function(chunk, **(shared or {}))
                    for chunk in tqdm(chunks, desc=desc, unit="task", disable=not progress or len(chunks) < 2)]
        return map_in_order(self.client, function, chunks, f"{desc} (cluster)", describe, shared)


IN_PROCESS = Tasks()


@contextmanager
def tasks(folder: Path = Path(".")) -> Iterator[Tasks]:
    """:class:`Tasks` on the configured scheduler, one cluster for all of a stage's maps
    (:func:`cluster_client`); in this process, at no cost, where ``IMAGESEARCH_SCHEDULER`` is unset."""
    with cluster_client(folder) as client:
        yield Tasks(client)


def map_chunks(function: Callable[..., Any], chunks: Sequence[Any], desc: str,
               describe: Callable[[Any], str] = lambda chunk: repr(chunk)[:200],
               shared: dict[str, Any] | None = None, folder: Path = Path("."), progress: bool = True) -> list[Any]:
    """One :meth:`Tasks.map` on a cluster started for it (or in this process)."""
    with tasks(folder) as runner:
        return runner.map(function, chunks, desc, describe, shared, progress)
