"""Cached time: on the stock event loops, gets in one loop iteration share one clock reading.

These tests run on a real asyncio loop (cached time only applies to the stock loops'
clock) whose `time` is replaced by a fake that jumps 1000 s on every read, so any read
that was not shared shows up at once. No real sleeps: `asyncio.sleep(0)` only lets the
loop iterate.
"""

from __future__ import annotations

import asyncio

import pytest

from swrcache import ManualClock, SWRCache
from swr_helpers import run as vrun


class JumpingClock:
    """Each call returns a time `step` seconds after the previous one."""

    def __init__(self, step: float = 1000.0) -> None:
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.step * self.reads


async def load(key):
    return f"{key}:loaded"


def run_real(main):
    """Run `main(loop, clock)` on a stock asyncio loop whose time() is a JumpingClock."""

    async def wrapper():
        loop = asyncio.get_running_loop()
        clock = JumpingClock()
        loop.time = clock  # an instance attribute: the class's time() stays the stock one
        try:
            return await main(loop, clock)
        finally:
            del loop.time

    return asyncio.run(wrapper())


def test_gets_in_one_iteration_share_one_reading_which_expires_when_the_loop_iterates():
    async def main(loop, clock):
        cache = SWRCache(load, capacity=10, ttl=10.0, stale_ttl=0.0)
        cache.set("k", "written")  # binds to the loop: one read, shared from now on
        assert clock.reads == 1
        values = [await cache.get("k") for _ in range(100)]
        assert values == ["written"] * 100 and clock.reads == 1
        assert cache.stats.hits == 100 and cache.stats.requests == 100
        assert cache._cached_now is not None
        await asyncio.sleep(0)  # the loop iterates: the shared reading expires
        assert cache._cached_now is None
        # The next get reads the clock anew: 1000 s later, the value has expired.
        assert await cache.get("k") == "k:loaded"
        assert clock.reads >= 2 and cache.stats.misses == 1
        await cache.aclose()
        assert cache._cached_now is None

    run_real(main)


def test_few_gets_per_iteration_read_the_clock_directly_then_cached_time_comes_back():
    async def main(loop, clock):
        cache = SWRCache(load, capacity=10, ttl=1e12, stale_ttl=0.0)
        cache.set("k", "v")
        for _ in range(20):  # one get per iteration: sharing does not pay
            await asyncio.sleep(0)
            before = clock.reads
            assert await cache.get("k") == "v"
            assert clock.reads == before + 1  # every such get sees its own reading
        assert cache._now is cache._counting_reader
        left = cache._direct_reads
        before = clock.reads
        for _ in range(2 * left + 50):  # a burst in one callback: cached time again
            assert await cache.get("k") == "v"
        assert clock.reads - before == left + 1  # left direct reads, then a shared one
        assert cache._cached_now is not None
        assert cache.stats.hits == 20 + 2 * left + 50
        await cache.aclose()

    run_real(main)


def test_a_burst_shared_by_many_hits_keeps_cached_time_on():
    async def main(loop, clock):
        cache = SWRCache(load, capacity=10, ttl=1e12, stale_ttl=0.0)
        cache.set("k", "v")
        for _ in range(5):
            before = clock.reads  # (the loop itself also reads its clock as it iterates)
            for _ in range(50):
                await cache.get("k")
            assert clock.reads - before <= 1  # one reading per iteration
            await asyncio.sleep(0)
        assert cache._now is cache._caching_reader
        await cache.aclose()

    run_real(main)


def test_injected_clock_is_read_on_every_get_even_within_one_iteration():
    async def main():
        clock = ManualClock(100.0)
        cache = SWRCache(load, capacity=10, ttl=10.0, stale_ttl=10.0, clock=clock)
        cache.set("k", "v")
        assert await cache.get("k") == "v" and cache.stats.hits == 1
        clock.advance(10.0)  # no await in between: the same loop iteration
        assert await cache.get("k") == "v" and cache.stats.stale_served == 1
        clock.advance(10.0)
        assert await cache.get("k") == "k:loaded" and cache.stats.misses == 1
        assert cache._cached_now is None
        await cache.aclose()

    asyncio.run(main())


def test_virtual_time_moved_inside_a_callback_is_seen_at_once():
    # A loop that overrides time() (cachesim's virtual time; its request driver jumps the
    # clock inside one callback) is never cached.
    async def main():
        loop = asyncio.get_running_loop()
        cache = SWRCache(load, capacity=10, ttl=10.0, stale_ttl=0.0)
        cache.set("k", "v")
        assert await cache.get("k") == "v"
        assert loop.try_jump_to(loop.time() + 50.0)
        assert await cache.get("k") == "k:loaded"
        assert cache._cached_now is None
        await cache.aclose()

    vrun(main)


def test_cache_moves_to_a_new_stock_loop_with_a_fresh_reading():
    cache = SWRCache(load, capacity=10, ttl=10.0, stale_ttl=0.0)

    async def first(loop, clock):
        cache.set("k", "v")
        for _ in range(50):
            value = await cache.get("k")
        return value  # the loop stops right after: no aclose

    async def second(loop, clock):
        return await cache.get("k")

    assert run_real(first) == "v"
    # asyncio.run iterates the old loop once more at shutdown: the reading expired there.
    assert cache._cached_now is None
    # The new loop's first get reads its own clock (the old loop stopped: rebinding and
    # dropping the old timestamps happens on the first call that is not a fresh hit).
    assert cache._now is cache._caching_reader  # the next read checks the loop
    assert run_real(second) == "k:loaded"
    assert cache.stats.misses == 1


def test_loader_timeout_error_without_refresh_timeout_is_a_load_error_not_a_timeout():
    async def failing(key):
        raise TimeoutError("the database timed out")

    async def main():
        cache = SWRCache(failing, capacity=10, ttl=1.0, stale_ttl=1.0)
        with pytest.raises(TimeoutError, match="database"):
            await cache.get("k")
        assert cache.stats.load_errors == 1 and cache.stats.refresh_timeouts == 0
        await cache.aclose()

    vrun(main)


@pytest.mark.parametrize("stock", [True, False], ids=["stock-loop", "virtual-time"])
def test_cache_stays_usable_on_the_same_loop_after_aclose(stock):
    async def main():
        cache = SWRCache(load, capacity=10, ttl=10.0, stale_ttl=0.0)
        assert await cache.get("k") == "k:loaded"
        await cache.aclose()
        assert await cache.get("k") == "k:loaded"  # same loop: entries kept
        assert cache.stats.hits == 1 and cache.stats.misses == 1
        await cache.aclose()
        cache.set("j", "written")
        assert await cache.get("j") == "written"
        await cache.aclose()

    if stock:
        asyncio.run(main())
    else:
        vrun(main)
