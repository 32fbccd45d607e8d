"""Load shedding for the search routes: a bound on searches in progress, a time budget per
request, and a 503 at once for whatever would not fit.

At most ``max_active`` searches run at once, each on a thread of its own pool (so that neither
/healthz nor /readyz, which run on the event loop, ever waits behind a search). Up to
``max_waiting`` more wait, first come first served. A request is refused with
:class:`Overloaded` (the app answers 503 with ``Retry-After``) at once when the queue is full or
when its predicted finish (its place in the queue times the recent service time, divided by the
slots, plus one service time) lies past ``budget_s``; and, as a backstop, when it has not
started by the time only one service time is left of its budget. A request whose client hangs up
while it waits leaves the queue and is never run (:class:`ClientGone`). A search already running
is not interrupted: it is bounded by the budget anyway.

Everything here runs on the event loop's thread, so the counters need no lock.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
EWMA_WEIGHT = 0.2  # weight of the newest search in the running mean of service times


class Overloaded(Exception):
    """The request was not admitted; ``reason`` says why ("queue full", "over budget", ...)."""

    def __init__(self, reason: str, retry_after: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ClientGone(Exception):
    """The client disconnected before its search started: nothing was run."""


class Admission:
    """The gate in front of the search threads (one per app)."""

    def __init__(self, max_active: int, max_waiting: int, budget_s: float) -> None:
        if max_active < 1 or max_waiting < 0 or budget_s <= 0:
            raise ValueError("max_active must be >= 1, max_waiting >= 0, budget_s > 0")
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.budget_s = budget_s
        self.executor = ThreadPoolExecutor(max_active, thread_name_prefix="search")
        self.active = 0
        self.service_s: float | None = None  # running mean of one search's wall time
        self.counts: Counter = Counter()     # admitted, shed:<reason>, gone (for /readyz and logs)
        self._waiting: deque[asyncio.Future] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def predicted_finish(self, position: int) -> float:
        """Seconds until a request that would wait at ``position`` (0: first) is answered."""
        service = self.service_s or 0.0
        return (position + 1) * service / self.max_active + service

    async def run(self, work: Callable[[], T], disconnected: Callable[[], Awaitable[object]]) -> T:
        """``work()`` on a search thread once a slot is free; raises Overloaded or ClientGone."""
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        if self.active >= self.max_active or self._waiting:
            await self._wait_for_slot(loop, arrived, disconnected)
        else:
            self.active += 1
        self.counts["admitted"] += 1
        began = loop.time()
        try:
            return await loop.run_in_executor(self.executor, work)
        finally:
            took = loop.time() - began
            self.service_s = took if self.service_s is None else (
                (1 - EWMA_WEIGHT) * self.service_s + EWMA_WEIGHT * took)
            self._release()

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop, arrived: float,
                             disconnected: Callable[[], Awaitable[object]]) -> None:
        if len(self._waiting) >= self.max_waiting:
            self._shed("queue full")
        if self.predicted_finish(len(self._waiting)) > self.budget_s:
            self._shed("over budget")
        slot = loop.create_future()
        self._waiting.append(slot)
        gone = asyncio.ensure_future(disconnected())
        patience = max(0.0, self.budget_s - (self.service_s or 0.0) - (loop.time() - arrived))
        try:
            await asyncio.wait({slot, gone}, timeout=patience, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # e.g. the graceful shutdown's timeout: give the slot back
            if slot.done():
                self._release()
            else:
                self._waiting.remove(slot)
                slot.cancel()
            raise
        finally:
            gone.cancel()
        if slot.done():  # the slot was handed over (self.active already counts it)
            if gone.done() and not gone.cancelled():
                self._release()
                self.counts["gone"] += 1
                raise ClientGone()
            return
        self._waiting.remove(slot)
        slot.cancel()
        if gone.done() and not gone.cancelled():
            self.counts["gone"] += 1
            raise ClientGone()
        self._shed("budget ran out waiting")

    def _release(self) -> None:
        """Hand the slot to the first waiter, or free it."""
        while self._waiting:
            slot = self._waiting.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.active -= 1

    def _shed(self, reason: str) -> None:
        self.counts[f"shed: {reason}"] += 1
        raise Overloaded(reason)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
