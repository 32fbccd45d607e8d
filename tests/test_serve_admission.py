"""The admission gate in front of the search threads: bounded work, 503 for the excess, nothing
run for a client that left (real threads and a real event loop; the work blocks on events)."""
from __future__ import annotations

import asyncio
import threading

import pytest

from imagesearch.serving.web.admission import Admission, ClientGone, Overloaded


def blocking(gate: threading.Event, ran: list[str], name: str):
    def work() -> str:
        ran.append(name)
        gate.wait(10)
        return name
    return work


async def never() -> None:
    await asyncio.Event().wait()


def test_excess_is_refused_at_once_and_waiters_run_in_order() -> None:
    async def scenario() -> None:
        admission = Admission(max_active=1, max_waiting=1, budget_s=30)
        gate, ran = threading.Event(), []
        first = asyncio.ensure_future(admission.run(blocking(gate, ran, "first"), never))
        second = asyncio.ensure_future(admission.run(blocking(gate, ran, "second"), never))
        await asyncio.sleep(0.05)
        assert (admission.active, admission.waiting) == (1, 1)
        with pytest.raises(Overloaded) as refused:
            await asyncio.wait_for(admission.run(blocking(gate, ran, "third"), never), timeout=1)
        assert refused.value.reason == "queue full" and refused.value.retry_after >= 1
        gate.set()
        assert await first == "first" and await second == "second"
        assert ran == ["first", "second"] and admission.active == 0
        assert admission.counts == {"admitted": 2, "shed: queue full": 1}
        admission.close()

    asyncio.run(scenario())


def test_a_client_that_leaves_while_waiting_is_never_run() -> None:
    async def scenario() -> None:
        admission = Admission(max_active=1, max_waiting=4, budget_s=30)
        gate, ran, left = threading.Event(), [], asyncio.Event()
        first = asyncio.ensure_future(admission.run(blocking(gate, ran, "first"), never))
        await asyncio.sleep(0.05)
        gone = asyncio.ensure_future(admission.run(blocking(gate, ran, "gone"), left.wait))
        await asyncio.sleep(0.05)
        left.set()  # the client hangs up while its search waits
        with pytest.raises(ClientGone):
            await gone
        assert admission.waiting == 0
        gate.set()
        await first
        assert await admission.run(lambda: "after", never) == "after"
        assert ran == ["first"] and admission.active == 0 and admission.counts["gone"] == 1
        admission.close()

    asyncio.run(scenario())


def test_a_request_that_cannot_start_within_its_budget_is_refused() -> None:
    async def scenario() -> None:
        admission = Admission(max_active=1, max_waiting=8, budget_s=0.2)
        gate, ran = threading.Event(), []
        first = asyncio.ensure_future(admission.run(blocking(gate, ran, "first"), never))
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded) as late:  # waits until its budget runs out, then 503
            await admission.run(blocking(gate, ran, "late"), never)
        assert late.value.reason == "budget ran out waiting"
        gate.set()
        await first
        admission.service_s = 1.0  # searches now take longer than the whole budget:
        gate.clear()
        blocked = asyncio.ensure_future(admission.run(blocking(gate, ran, "slow"), never))
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded) as predicted:  # refused at once, without waiting
            await asyncio.wait_for(admission.run(blocking(gate, ran, "never"), never), timeout=0.1)
        assert predicted.value.reason == "over budget"
        gate.set()
        await blocked
        assert ran == ["first", "slow"]
        admission.close()

    asyncio.run(scenario())


def test_bad_settings_are_refused() -> None:
    for bad in ({"max_active": 0, "max_waiting": 1, "budget_s": 1}, {"max_active": 1, "max_waiting": -1, "budget_s": 1},
                {"max_active": 1, "max_waiting": 1, "budget_s": 0}):
        with pytest.raises(ValueError):
            Admission(**bad)


def test_a_waiter_cancelled_by_the_shutdown_gives_its_place_back() -> None:
    async def scenario() -> None:
        admission = Admission(max_active=1, max_waiting=4, budget_s=30)
        gate, ran = threading.Event(), []
        first = asyncio.ensure_future(admission.run(blocking(gate, ran, "first"), never))
        await asyncio.sleep(0.05)
        waiter = asyncio.ensure_future(admission.run(blocking(gate, ran, "cancelled"), never))
        await asyncio.sleep(0.05)
        waiter.cancel()
        await asyncio.sleep(0)
        assert admission.waiting == 0
        gate.set()
        await first
        assert admission.active == 0 and await admission.run(lambda: "next", never) == "next"
        assert ran == ["first"]
        admission.close()

    asyncio.run(scenario())
