"""The small parts: clock, backoff, breaker, priority slots, XFetch, stats."""

from __future__ import annotations

import asyncio
import random

import pytest

from swr_helpers import run
from swrcache import Backoff, CacheStats, CircuitBreaker, ManualClock, PrioritySlots
from swrcache import should_refresh_early
from swrcache.clock import loop_time


def test_loop_time_follows_virtual_time():
    async def main():
        await asyncio.sleep(42.0)
        return loop_time()

    assert run(main) == 42.0


def test_manual_clock_rejects_going_back():
    clock = ManualClock(1.0)
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(-1)
    assert "ManualClock" in repr(clock)


def test_backoff_doubles_caps_and_jitters_within_bounds():
    b = Backoff(base=0.5, max_delay=4.0, jitter=0.5, rng=random.Random(3))
    for n in range(1, 12):
        d = b.delay(n)
        cap = min(4.0, 0.5 * 2 ** (n - 1))
        assert cap * 0.5 <= d <= cap
    assert Backoff(1.0, 2.0, 0.0).delay(1000) == 2.0  # no overflow
    assert "Backoff" in repr(b)


@pytest.mark.parametrize("kwargs, name", [
    ({"base": 0, "max_delay": 1}, "backoff_base"),
    ({"base": 2, "max_delay": 1}, "backoff_max"),
    ({"base": 1, "max_delay": 1, "jitter": -0.1}, "backoff_jitter"),
])
def test_backoff_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Backoff(**kwargs)


def test_breaker_counts_only_consecutive_failures():
    b = CircuitBreaker(3, 1.0, ManualClock())
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state == "closed"
    assert b.record_failure() is True and b.state == "open" and b.opens == 1
    assert "open" in repr(b)


@pytest.mark.parametrize("kwargs, name", [
    ({"failure_threshold": 0, "cooldown": 1.0}, "failure_threshold"),
    ({"failure_threshold": 1, "cooldown": 0}, "cooldown"),
])
def test_breaker_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CircuitBreaker(clock=ManualClock(), **kwargs)


def test_priority_slots_fifo_within_priority_and_cancelled_waiter_skipped():
    async def main():
        slots, order = PrioritySlots(1), []
        await slots.acquire()

        async def worker(name, priority):
            await slots.acquire(priority)
            order.append(name)
            await asyncio.sleep(1.0)
            slots.release()

        tasks = {n: asyncio.create_task(worker(n, p))
                 for n, p in [("n1", 1), ("n2", 1), ("c1", 0), ("gone", 0)]}
        await asyncio.sleep(0)
        tasks["gone"].cancel()
        await asyncio.sleep(0)
        slots.release()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        assert order == ["c1", "n1", "n2"]
        assert slots.idle() and slots.used == 0

    run(main)


def test_priority_slots_handoff_to_a_waiter_cancelled_at_the_same_moment_is_passed_on():
    async def main():
        slots = PrioritySlots(1)
        await slots.acquire()
        first = asyncio.create_task(slots.acquire())
        second = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        slots.release()  # hands the slot to `first`...
        first.cancel()  # ...which is cancelled before it runs
        await asyncio.gather(first, return_exceptions=True)
        await second  # the slot moved on
        assert slots.used == 1
        slots.release()
        assert slots.idle()

    run(main)


def test_priority_slots_release_without_acquire_raises():
    with pytest.raises(RuntimeError):
        PrioritySlots(1).release()
    with pytest.raises(ValueError, match="limit"):
        PrioritySlots(0)


def test_xfetch_probability_grows_towards_expiry():
    rng = random.Random(0)

    def share(now):
        return sum(should_refresh_early(now, 10.0, 1.0, 1.0, rng) for _ in range(2000)) / 2000

    early, late = share(5.0), share(9.5)
    assert early < late
    assert share(10.0) == 1.0
    assert not any(should_refresh_early(9.9, 10.0, 1.0, 0.0, rng) for _ in range(100))


def test_stats_helpers():
    s = CacheStats(hits=3, stale_served=1, misses=4, coalesced=2)
    assert s.requests == 8 and s.hit_ratio == 0.5
    snap = s.snapshot()
    s.reset()
    assert s == CacheStats() and snap.hits == 3
    assert CacheStats().hit_ratio == 0.0
    assert set(CacheStats().as_dict()) >= {
        "hits", "misses", "stale_served", "coalesced", "loads", "load_errors",
        "refresh_timeouts", "breaker_opens", "evictions"}
