"""The lean loop's parts: the timer heap's order, call_each_at, and Task-less fibers."""

import asyncio
import heapq
import random
from asyncio import events

import pytest

from cachesim import SimulationDeadlock, run
from cachesim.fiber import Fiber
from cachesim.vtime import VirtualTimeLoop, _LeanTimerHandle


def test_pair_heap_pops_in_exactly_asyncios_order_even_on_equal_times():
    rng = random.Random(3)
    loop = VirtualTimeLoop()
    try:
        stock, lean, out_stock, out_lean = [], [], [], []
        for n in range(5000):
            if stock and rng.random() < 0.4:
                out_stock.append(heapq.heappop(stock)._args[0])
                out_lean.append(heapq.heappop(lean)[1]._args[0])
            else:
                when = float(rng.randrange(20))  # many ties
                heapq.heappush(stock, events.TimerHandle(when, print, (n,), loop))
                heapq.heappush(lean, (when, _LeanTimerHandle(when, print, (n,), loop, None)))
        while stock:
            out_stock.append(heapq.heappop(stock)._args[0])
            out_lean.append(heapq.heappop(lean)[1]._args[0])
        assert out_lean == out_stock and sorted(out_stock) == sorted(set(out_stock)) and len(out_stock) > 2500
    finally:
        loop.close()


def test_call_each_at_runs_in_time_order_between_timers():
    seen = []

    async def main():
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        loop.call_at(1.5, lambda: seen.append(("timer", loop.time())))
        loop.call_each_at([1.0, 1.5, 2.0, 2.0, 3.0], lambda i: seen.append((i, loop.time())),
                          lambda exc: ended.set_result(exc))
        return await ended

    assert run(main) is None
    # the timer due at 1.5 runs before the arrival at 1.5 (asyncio: timers due first)
    assert seen == [(0, 1.0), ("timer", 1.5), (1, 1.5), (2, 2.0), (3, 2.0), (4, 3.0)]


def test_call_each_at_hands_a_failure_to_on_end_and_stops():
    calls = []

    def callback(i):
        calls.append(i)
        if i == 1:
            raise ValueError("boom")

    async def main():
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        loop.call_each_at([0.5, 1.0, 2.0], callback, lambda exc: ended.set_result(exc))
        return await ended

    exc = run(main)
    assert isinstance(exc, ValueError) and calls == [0, 1]


async def _request(log):
    await asyncio.sleep(1.0)
    assert isinstance(asyncio.current_task(), Fiber)
    try:
        async with asyncio.timeout(0.5):
            await asyncio.sleep(10)
    except TimeoutError:
        log.append(("timed out", asyncio.get_running_loop().time()))
    return "ok"


def test_a_fiber_is_the_current_task_and_timeouts_cancel_it():
    log, ended = [], []

    async def main():
        loop = asyncio.get_running_loop()
        coro = _request(log)
        Fiber(loop, coro, coro.send(None), lambda tag, exc: ended.append((tag, exc)), "r")
        await asyncio.sleep(3)
        return loop.has_fibers()

    assert run(main) is False
    assert log == [("timed out", 1.5)] and ended == [("r", None)]


def test_fibers_still_waiting_when_main_returns_are_cancelled():
    ended, cleaned = [], []

    async def stuck():
        try:
            await asyncio.get_running_loop().create_future()  # nothing completes it
        finally:
            cleaned.append(True)

    async def main():
        loop = asyncio.get_running_loop()
        coro = stuck()
        Fiber(loop, coro, coro.send(None), lambda tag, exc: ended.append(type(exc)), 7)
        await asyncio.sleep(1)

    run(main)
    assert cleaned == [True] and ended == [asyncio.CancelledError]


def test_a_deadlock_names_the_waiting_fiber():
    async def stuck():
        await asyncio.get_running_loop().create_future()

    async def main():
        loop = asyncio.get_running_loop()
        coro = stuck()
        Fiber(loop, coro, coro.send(None), lambda tag, exc: None, 3)
        await loop.create_future()

    with pytest.raises(SimulationDeadlock, match=r"request fiber-3 waiting at .* in stuck"):
        run(main)
