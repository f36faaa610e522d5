"""Regression: a release timer at `t + period` must always free the slot taken at `t`."""

import asyncio

from cachesim.throttle import LoopThrottler
from cachesim.vtime import run


def test_many_acquisitions_at_awkward_float_times_all_complete():
    async def main():
        throttle = LoopThrottler(rate_limit=200, period=1.0)
        loop = asyncio.get_running_loop()

        async def one(i):
            await asyncio.sleep(i * 0.000731)  # arrival times whose sums round unevenly
            async with throttle:
                return loop.time()

        return await asyncio.gather(*(one(i) for i in range(2000)))

    times = run(main, wall_timeout=20)
    assert len(times) == 2000
    # 2,000 acquisitions at 200 per second need about 10 s of virtual time, not forever.
    assert 9.0 <= max(times) <= 11.0


def test_a_release_timer_run_a_hair_before_its_deadline_still_frees_the_slot():
    """asyncio runs a timer up to the clock resolution (1 ns here) early, without moving the
    clock. The slot taken at 1.06 frees at 1.06 + 1.0 == 2.06; with the clock stopped at
    2.0599999999999996, a waiter arms its release for 2.06, which is then already due.
    The arrival pump, also waiting for 2.06, yields to the release and the release to the
    pump: the release has to free the slot although the clock reads 4e-16 s short of its
    deadline, or the clock never moves again."""

    async def main():
        loop = asyncio.get_running_loop()
        throttle = LoopThrottler(rate_limit=1, period=1.0)
        granted, arrived = [], []

        async def take():
            await throttle.acquire()
            granted.append(loop.time())

        ended = loop.create_future()
        loop.call_at(1.06, loop.create_task, take())
        loop.call_each_at([2.06, 2.5], arrived.append, ended.set_result)
        loop.call_at(2.0599999999999996, lambda: None)  # the clock stops here first
        loop.call_at(2.06, loop.create_task, take())  # run early, at 2.0599999999999996
        await ended
        await asyncio.sleep(0)
        return granted, arrived, loop.time()

    granted, arrived, end = run(main, wall_timeout=20)
    assert granted == [1.06, 2.0599999999999996]
    assert arrived == [0, 1] and end == 2.5


def test_the_singleflight_capacity_reproduction_finishes():
    """The reproduction from the bug report: 600 evenly spaced requests per second through a
    SingleflightCache to a 120-qps database stopped the clock at t=2.06 for ever."""
    from cachesim import Fixed, SimulatedDatabase, SingleflightCache, Workload, simulate

    db = SimulatedDatabase(latency=Fixed(0.05), capacity=120)
    r = simulate(Workload(duration=5, rate=600, keys=1000, arrivals="even", seed=0),
                 lambda load: SingleflightCache(load, ttl=0.2), database=db, wall_timeout=60)
    assert r.requests == 3000 and not r.errors.any()
    starts = sorted(db._log.starts)
    assert len(starts) == r.db_calls > 120 * 5  # the database is the bottleneck, queues build
    # The throttle's contract: at most 120 query starts in any 1-second window (up to the
    # loop's 1 ns clock resolution: see LoopThrottler).
    assert min(b - a for a, b in zip(starts, starts[120:])) >= 1.0 - 1e-9
    # Virtual time went on to the end: the last queued queries ran after the traffic stopped.
    assert max(db._log.ends) > 5.0
