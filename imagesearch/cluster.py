"""Where a heavy stage runs: in this process (the default) or on a Dask cluster, chosen by one variable.

``IMAGESEARCH_SCHEDULER``:

- unset or empty: in this process, no cluster is started (today's run, zero set-up);
- ``local:N``: a ``LocalCluster`` of N worker processes with one thread each, started here and
  stopped when the stage ends;
- ``tcp://host:port``: an existing Dask scheduler (its workers must see the same files and have
  this package importable).

It is an environment variable and not a DVC param on purpose: every output is byte-identical
whichever scheduler ran the stage (``tests/test_cluster.py``), so it must not change a hash.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

log = logging.getLogger(__name__)

ENV = "IMAGESEARCH_SCHEDULER"
CONNECT_TIMEOUT = "10s"


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


@contextmanager
def cluster_client() -> Iterator[Any]:
    """A ``dask.distributed.Client`` for the configured scheduler, or None to run in-process."""
    spec = scheduler_spec()
    if spec is None:
        yield None
        return
    from dask.distributed import Client, LocalCluster

    kind, value = spec
    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines drown the stage's
    cluster = None
    if kind == "local":
        cluster = LocalCluster(n_workers=int(value), threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(str(value), timeout=CONNECT_TIMEOUT)
    log.info("Dask cluster %s: %d workers, dashboard %s", os.environ[ENV].strip(),
             len(client.scheduler_info()["workers"]), client.dashboard_link)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_in_order(client: Any, function: Callable[[Any], Any], chunks: Sequence[Any], desc: str) -> list[Any]:
    """``[function(chunk) for chunk in chunks]`` on the cluster, results in input order, with a
    progress bar over completed tasks."""
    from dask.distributed import as_completed

    futures = client.map(function, list(chunks), pure=False)
    for _ in tqdm(as_completed(futures), total=len(futures), desc=desc, unit="task"):
        pass
    return client.gather(futures)
