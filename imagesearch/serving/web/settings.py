"""The production settings of `imagesearch serve` (a module without imports of weight, so that
the CLI builds its parser without loading uvicorn); :mod:`.server` says what each one does."""
from __future__ import annotations

import os
from dataclasses import dataclass


def default_active() -> int:
    """Searches in progress at once: one per core. Measured on the 1M index, 2 cores, 64 clients
    (docs/performance.md): 2 active kept goodput at the 4-client figure; 4 active lost to GIL
    contention between the search threads and the event loop."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class ServeSettings:
    """What `imagesearch serve` runs with; the defaults are the production settings."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_active: int = 0            # 0: default_active(), one per core
    max_waiting: int | None = None  # None: one per active search
    budget_s: float = 1.0
    max_connections: int = 1024    # uvicorn limit_concurrency
    keep_alive_s: int = 5
    header_timeout_s: float = 10.0
    graceful_s: int = 8
    switch_interval_s: float = 0.001  # the GIL hand-over: the event loop waits less behind search threads

    @property
    def active(self) -> int:
        return self.max_active or default_active()

    @property
    def waiting(self) -> int:
        """A short queue: one search ready for each slot when it frees keeps every slot busy; a
        longer one adds waiting time to every admitted search and no throughput (docs/performance.md,
        "Serving under overload and shutdown")."""
        return self.active if self.max_waiting is None else self.max_waiting
