from __future__ import annotations

import asyncio

import pytest

from swr_helpers import FakeLoader, now, run
from swrcache import Singleflight


def test_concurrent_calls_share_one_execution():
    async def main():
        sf, loader = Singleflight(), FakeLoader(delay=1.0)
        results = await asyncio.gather(*(sf.do("k", lambda: loader("k")) for _ in range(100)))
        assert set(results) == {"k#1"} and loader.count == 1
        assert "k" not in sf and len(sf) == 0
        assert now() == 1.0

    run(main)


def test_different_keys_run_separately():
    async def main():
        sf, loader = Singleflight(), FakeLoader(delay=1.0)
        a, b = await asyncio.gather(sf.do("a", lambda: loader("a")),
                                    sf.do("b", lambda: loader("b")))
        assert {a, b} == {"a#1", "b#2"} or {a, b} == {"a#2", "b#1"}

    run(main)


def test_exception_is_shared_and_never_remembered():
    async def main():
        sf = Singleflight()
        loader = FakeLoader(delay=1.0, fail=lambda k, n: ValueError(f"boom {n}") if n == 1 else None)
        results = await asyncio.gather(*(sf.do("k", lambda: loader("k")) for _ in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(r, ValueError) and str(r) == "boom 1" for r in results)
        assert loader.count == 1
        assert await sf.do("k", lambda: loader("k")) == "k#2"

    run(main)


def test_sequential_calls_run_again():
    async def main():
        sf, loader = Singleflight(), FakeLoader()
        assert await sf.do("k", lambda: loader("k")) == "k#1"
        assert await sf.do("k", lambda: loader("k")) == "k#2"

    run(main)


def test_forget_starts_new_execution_and_old_does_not_remove_new():
    async def main():
        sf = Singleflight()
        loader = FakeLoader(delay=lambda k, n: 1.0 if n == 1 else 3.0)
        old = asyncio.create_task(sf.do("k", lambda: loader("k")))
        await asyncio.sleep(0.5)
        sf.forget("k")
        new = asyncio.create_task(sf.do("k", lambda: loader("k")))
        await asyncio.sleep(0.1)
        assert "k" in sf and loader.count == 2
        assert await old == "k#1"  # finishes at t=1.0 for its own caller
        assert "k" in sf  # ...without removing the newer execution
        joiner = asyncio.create_task(sf.do("k", lambda: loader("k")))
        assert await new == "k#2" and await joiner == "k#2"
        assert loader.count == 2 and "k" not in sf

    run(main)


def test_forget_unknown_key_is_harmless():
    Singleflight().forget("nope")


def test_cancelled_follower_does_not_cancel_others():
    async def main():
        sf, loader = Singleflight(), FakeLoader(delay=2.0)
        leader = asyncio.create_task(sf.do("k", lambda: loader("k")))
        follower = asyncio.create_task(sf.do("k", lambda: loader("k")))
        await asyncio.sleep(1.0)
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
        assert await leader == "k#1" and loader.cancelled == 0

    run(main)


def test_cancelled_leader_does_not_cancel_followers():
    async def main():
        sf, loader = Singleflight(), FakeLoader(delay=2.0)
        leader = asyncio.create_task(sf.do("k", lambda: loader("k")))
        await asyncio.sleep(0)
        followers = [asyncio.create_task(sf.do("k", lambda: loader("k"))) for _ in range(3)]
        await asyncio.sleep(1.0)
        assert sf.waiters("k") == 4
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert [await f for f in followers] == ["k#1"] * 3
        assert loader.cancelled == 0 and loader.count == 1 and now() == 2.0

    run(main)


def test_last_waiter_cancelled_cancels_execution_and_next_call_starts_fresh():
    async def main():
        sf, loader = Singleflight(), FakeLoader(delay=2.0)
        a = asyncio.create_task(sf.do("k", lambda: loader("k")))
        b = asyncio.create_task(sf.do("k", lambda: loader("k")))
        await asyncio.sleep(1.0)
        a.cancel()
        await asyncio.sleep(0)
        assert loader.cancelled == 0
        b.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        await asyncio.sleep(0)
        assert loader.cancelled == 1 and "k" not in sf
        assert await sf.do("k", lambda: loader("k")) == "k#2"

    run(main)


def test_cancel_before_execution_starts():
    async def main():
        sf, loader = Singleflight(), FakeLoader(delay=1.0)
        t = asyncio.create_task(sf.do("k", lambda: loader("k")))
        await asyncio.sleep(0)  # do() has created the execution task, which has not run yet
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        await asyncio.sleep(0)
        assert "k" not in sf and loader.cancelled == loader.count

    run(main)


def test_keyboard_interrupt_propagates_and_leaves_no_waiter():
    sf = Singleflight()
    callers: list[asyncio.Task] = []

    async def fn():
        await asyncio.sleep(1.0)
        raise KeyboardInterrupt

    async def main():
        callers.extend(asyncio.create_task(sf.do("k", fn)) for _ in range(3))
        await asyncio.gather(*callers)

    from cachesim.vtime import run as vrun

    with pytest.raises(KeyboardInterrupt):
        vrun(main)
    assert all(t.done() for t in callers)
    assert len(sf) == 0


def test_repr():
    assert "in_flight=0" in repr(Singleflight())
