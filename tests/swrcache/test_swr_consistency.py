"""SWRCache: invalidation and writes are never undone; cancellation; versioned keys; loops."""

from __future__ import annotations

import asyncio

import pytest

from cachesim.vtime import run as vrun
from swr_helpers import FakeLoader, now, run
from swrcache import LRUCache, SWRCache


def make(loader, **kw):
    kw.setdefault("capacity", 100)
    kw.setdefault("ttl", 10.0)
    kw.setdefault("stale_ttl", 20.0)
    return SWRCache(loader, **kw)


def test_invalidate_during_cold_load_is_not_undone_and_new_get_does_not_join():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        old = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(1.0)
        cache.invalidate("a")
        new = asyncio.create_task(cache.get("a"))
        assert await old == "a#1"  # the early caller gets its load
        assert "a" not in cache  # ...but it was not stored
        assert await new == "a#2"  # a new load, started after the old one finished
        assert loader.max_running["a"] == 1  # per-key limit still holds
        assert await cache.get("a") == "a#2"
        assert loader.count == 2

    run(main)


def test_invalidate_during_background_refresh_cancels_it_and_value_never_returns():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        await cache.get("a")  # t=2
        await asyncio.sleep(12.0)
        assert await cache.get("a") == "a#1"  # stale; refresh a#2 starts
        await asyncio.sleep(1.0)
        cache.invalidate("a")
        value = await cache.get("a")
        assert value == "a#3"
        await asyncio.sleep(5.0)
        assert await cache.get("a") == "a#3"
        assert loader.cancelled == 1

    run(main)


def test_set_during_load_is_not_overwritten():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        waiter = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(1.0)
        cache.set("a", "written")
        assert await waiter == "a#1"
        assert await cache.get("a") == "written"

    run(main)


def test_newer_refresh_wins_over_older_one_finishing_later():
    async def main():
        loader = FakeLoader(delay=lambda k, n: {1: 1.0, 2: 5.0, 3: 1.0}[n])
        cache = make(loader, max_refresh_concurrency=2)
        await cache.get("a")  # a#1 at t=1
        await asyncio.sleep(10.0)
        await cache.get("a")  # refresh a#2 (slow) at t=11
        await asyncio.sleep(0.5)
        await cache.get("a")  # refresh a#3 (fast) at t=11.5, done t=12.5
        await asyncio.sleep(1.5)
        assert await cache.get("a") == "a#3"
        await asyncio.sleep(3.0)  # a#2 finishes at t=16 but is older
        assert await cache.get("a") == "a#3"

    run(main)


def test_invalidate_unknown_key_is_harmless():
    async def main():
        cache = make(FakeLoader())
        cache.invalidate("nothing")
        assert await cache.get("nothing") == "nothing#1"

    run(main)


def test_cancelled_leader_does_not_cancel_followers():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        leader = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(0)
        followers = [asyncio.create_task(cache.get("a")) for _ in range(3)]
        await asyncio.sleep(1.0)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert [await f for f in followers] == ["a#1"] * 3
        assert loader.cancelled == 0 and "a" in cache

    run(main)


def test_cancelled_follower_does_not_cancel_leader():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        leader = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(0)
        follower = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(1.0)
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
        assert await leader == "a#1" and loader.cancelled == 0

    run(main)


def test_last_waiter_cancelled_cancels_the_load_and_frees_the_key():
    async def main():
        loader = FakeLoader(delay=2.0)
        cache = make(loader)
        waiters = [asyncio.create_task(cache.get("a")) for _ in range(2)]
        await asyncio.sleep(1.0)
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await asyncio.sleep(0)
        assert loader.cancelled == 1 and "a" not in cache
        t0 = now()
        assert await cache.get("a") == "a#2"  # no slot left held by the cancelled load
        assert now() == t0 + 2.0

    run(main)


def test_cancelled_stale_waiter_does_not_cancel_refresh():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 3.0)
        cache = make(loader, wait_threshold=1.0)
        await cache.get("a")
        await asyncio.sleep(12.0)
        t = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(0.5)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        await asyncio.sleep(3.0)
        assert await cache.get("a") == "a#2" and loader.cancelled == 0

    run(main)


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_propagate_and_leave_no_waiter(exc_type):
    async def load(key):
        await asyncio.sleep(1.0)
        raise exc_type()

    cache = SWRCache(load, capacity=10, ttl=1.0, stale_ttl=1.0)
    callers: list[asyncio.Task] = []

    async def main():
        callers.extend(asyncio.create_task(cache.get("k")) for _ in range(5))
        await asyncio.gather(*callers)

    with pytest.raises(exc_type):
        vrun(main)
    assert callers and all(t.done() for t in callers)
    assert len(cache._flights) == 0 and not cache._active and not cache._key_slots

    # The cache is usable on the next loop.
    async def again():
        cache._loader = FakeLoader()
        return await cache.get("k")

    assert vrun(again) == "k#1"


def test_versioned_namespaces_coexist_in_one_store():
    async def main():
        store = LRUCache(10)

        async def load_v1(key):
            return {"name": key}

        async def load_v2(key):
            return {"schema": 2, "display_name": key}

        v1 = SWRCache(load_v1, capacity=10, ttl=10, stale_ttl=10, namespace="v1", store=store)
        v2 = SWRCache(load_v2, capacity=10, ttl=10, stale_ttl=10, namespace="v2", store=store)
        assert await v1.get("u1") == {"name": "u1"}
        assert await v2.get("u1") == {"schema": 2, "display_name": "u1"}
        assert await v1.get("u1") == {"name": "u1"}  # old readers unaffected
        assert len(store) == 2 and ("v1", "u1") in store and ("v2", "u1") in store
        v2.invalidate("u1")
        assert "u1" in v1 and "u1" not in v2

    run(main)


def test_rebinds_to_a_new_loop_after_the_old_one_closed():
    loader = FakeLoader(delay=1.0)
    cache = make(loader)

    async def first():
        return await cache.get("a")

    assert vrun(first) == "a#1"

    async def second():
        return await cache.get("a"), await cache.get("a")

    # Timestamps from the first loop's clock are dropped; aclose unbinds for a clean start.
    async def close():
        await cache.aclose()

    vrun(close)
    assert vrun(second) == ("a#2", "a#2")


def test_using_cache_from_two_open_loops_raises():
    import threading

    loader = FakeLoader()
    cache = make(loader)
    started, stop = threading.Event(), threading.Event()

    def other_loop():
        async def hold():
            await cache.get("x")
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.001)

        asyncio.run(hold())

    thread = threading.Thread(target=other_loop)
    thread.start()
    try:
        assert started.wait(5)

        async def main():
            with pytest.raises(RuntimeError, match="another event loop that is still running"):
                await cache.get("y")

        vrun(main)
    finally:
        stop.set()
        thread.join(5)


def test_aclose_cancels_background_refreshes():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 100.0)
        cache = make(loader)
        await cache.get("a")
        await asyncio.sleep(12.0)
        await cache.get("a")
        assert cache.background_tasks == 1
        await asyncio.sleep(1.0)  # the refresh is inside the loader now
        await cache.aclose()
        assert cache.background_tasks == 0 and loader.cancelled == 1

    run(main)


def test_async_context_manager_closes():
    async def main():
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 100.0)
        async with make(loader) as cache:
            await cache.get("a")
            await asyncio.sleep(12.0)
            await cache.get("a")
        assert cache.background_tasks == 0

    run(main)
