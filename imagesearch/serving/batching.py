"""Dynamic micro-batching: concurrent queries encoded and scored together.

A request thread puts its (query, k) on a queue and waits; ``workers`` batch threads each take
the first waiting request, then whatever else arrives within ``max_wait_ms`` (up to
``max_batch``), and answer them with one :meth:`Searcher.rank` call: one ONNX encoder
run and one scoring call instead of one each per query. The wait is bounded, so a lone query
is delayed by at most ``max_wait_ms``. Whether it pays depends on the machine and the load:
``benchmarks/bench_serving.py --batch`` measures it (docs/performance.md, "Serving").
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

from imagesearch.serving.searcher import SearchResult, Searcher


class MicroBatcher:
    def __init__(self, searcher: Searcher, max_batch: int = 8, max_wait_ms: float = 2.0, workers: int = 2) -> None:
        if max_batch < 1 or max_wait_ms < 0 or workers < 1:
            raise ValueError("max_batch and workers must be >= 1, max_wait_ms >= 0")
        self.searcher = searcher
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._queue: queue.Queue[tuple[str, int, Future] | None] = queue.Queue()
        self.batch_sizes: list[int] = []  # what the batches held (for the benchmark's report)
        self._threads = [threading.Thread(target=self._run, name=f"micro-batch-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def search(self, query: str, k: int) -> SearchResult:
        """As ``Searcher.search``; out-of-bounds queries fail here, before they are queued."""
        checked = self.searcher.check(query, k)
        if isinstance(checked, SearchResult):
            return checked
        future: Future = Future()
        self._queue.put((checked.query, k, future))
        return checked.attach(future.result())

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # closing: answer what we hold, then let another thread see it
                    self._queue.put(None)
                    break
                batch.append(item)
            self.batch_sizes.append(len(batch))
            self._answer(batch)

    def _answer(self, batch: list[Any]) -> None:
        try:
            results = self.searcher.rank([(query, k) for query, k, _ in batch])  # checked before queueing
        except Exception as err:  # noqa: BLE001 - every waiting request gets the error
            for _, _, future in batch:
                future.set_exception(err)
            return
        for (_, _, future), result in zip(batch, results):
            future.set_result(result)
