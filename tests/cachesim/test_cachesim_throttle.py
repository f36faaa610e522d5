"""LoopThrottler: asyncio-throttle's interface, loop time, exact rate."""

import asyncio
import time

import pytest
from asyncio_throttle import Throttler

from cachesim import LoopThrottler, run


def _acquire_times(rate_limit, period, n, *, callers=1):
    async def main():
        loop = asyncio.get_running_loop()
        throttle = LoopThrottler(rate_limit, period=period)
        stamps = []

        async def worker(count):
            for _ in range(count):
                async with throttle:
                    stamps.append(loop.time())

        await asyncio.gather(*(worker(n // callers) for _ in range(callers)))
        return stamps

    return run(main)


def test_is_an_asyncio_throttle_throttler():
    assert issubclass(LoopThrottler, Throttler)


@pytest.mark.parametrize("callers", [1, 50])
def test_holds_its_rate_within_one_percent_in_virtual_time(callers):
    t = time.perf_counter()
    stamps = _acquire_times(200, 1.0, 20_000, callers=callers)
    assert time.perf_counter() - t < 60  # a hang guard: in real time the 20,000 acquisitions take 100 s
    assert len(stamps) == 20_000
    # Sustained rate over the run:
    span = stamps[-1] - stamps[0]
    rate = (len(stamps) - 200) / span  # the first window's burst excluded
    assert rate == pytest.approx(200, rel=0.01)
    # And never more than rate_limit in any window of `period` (sliding check):
    j = 0
    for i, s in enumerate(stamps):
        while stamps[j] <= s - 1.0:
            j += 1
        assert i - j + 1 <= 200


def test_waiters_are_served_in_arrival_order():
    async def main():
        throttle = LoopThrottler(1, period=1.0)
        order = []

        async def caller(i):
            await throttle.acquire()
            order.append((i, asyncio.get_running_loop().time()))

        await asyncio.gather(*(caller(i) for i in range(5)))
        return order

    assert run(main) == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]


def test_a_cancelled_waiter_does_not_take_a_slot():
    async def main():
        loop = asyncio.get_running_loop()
        throttle = LoopThrottler(1, period=1.0)
        await throttle.acquire()
        doomed = loop.create_task(throttle.acquire())
        await asyncio.sleep(0.5)
        doomed.cancel()
        await throttle.acquire()
        return loop.time()

    assert run(main) == 1.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="rate_limit"):
        LoopThrottler(0)
    with pytest.raises(ValueError, match="period"):
        LoopThrottler(5, period=-1)
