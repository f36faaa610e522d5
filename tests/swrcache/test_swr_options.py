"""SWRCache(breaker=..., backoff=...): configuration objects, and the old scalar keywords."""

from __future__ import annotations

import asyncio
import random

import pytest

from swr_helpers import FakeLoader, now, run
from swrcache import Backoff, CircuitBreaker, CircuitOpenError, SWRCache


def make(loader, **kw):
    kw.setdefault("capacity", 100)
    kw.setdefault("ttl", 10.0)
    kw.setdefault("stale_ttl", 1000.0)
    return SWRCache(loader, **kw)


def test_default_breaker_and_backoff_are_per_cache():
    a, b = make(FakeLoader()), make(FakeLoader())
    assert a.breaker is not b.breaker and a.backoff is not b.backoff
    assert (a.breaker.failure_threshold, a.breaker.cooldown) == (5, 30.0)
    assert (a.backoff.base, a.backoff.max_delay, a.backoff.jitter) == (1.0, 60.0, 0.5)


def test_breaker_object_opens_and_fails_fast():
    async def main():
        breaker = CircuitBreaker(failure_threshold=2, cooldown=5.0)
        loader = FakeLoader(delay=1.0, fail=lambda k, n: RuntimeError("down"))
        cache = make(loader, breaker=breaker)
        assert cache.breaker is breaker
        for key in "ab":
            with pytest.raises(RuntimeError, match="down"):
                await cache.get(key)
        assert breaker.state == "open" and cache.stats.breaker_opens == 1
        with pytest.raises(CircuitOpenError):
            await cache.get("c")
        assert loader.count == 2
        await asyncio.sleep(5.0)  # the breaker reads the loop's (virtual) clock
        assert breaker.would_allow()

    run(main)


def test_one_breaker_guards_two_caches_of_one_dependency():
    async def main():
        breaker = CircuitBreaker(1, 30.0)
        loader = FakeLoader(delay=0.0, fail=lambda k, n: RuntimeError("db down"))
        v1 = make(loader, breaker=breaker, namespace="v1")
        v2 = make(loader, breaker=breaker, namespace="v2")
        with pytest.raises(RuntimeError):
            await v1.get("user")
        with pytest.raises(CircuitOpenError):
            await v2.get("user")  # v1's failure opened the shared breaker
        assert loader.count == 1

    run(main)


def test_breaker_none_disables_it():
    async def main():
        loader = FakeLoader(delay=0.0, fail=lambda k, n: RuntimeError("down"))
        cache = make(loader, breaker=None)
        for _ in range(20):
            with pytest.raises(RuntimeError, match="down"):
                await cache.get("a")
        assert cache.breaker is None and loader.count == 20

    run(main)


def test_backoff_object_spaces_failed_refreshes():
    async def main():
        loader = FakeLoader(delay=0.0, fail=lambda k, n: RuntimeError() if n > 1 else None)
        cache = make(loader, breaker=None, backoff=Backoff(base=4.0, max_delay=4.0, jitter=0.0))
        await cache.get("a")
        await asyncio.sleep(10.0)
        for _ in range(100):  # a get every 0.1 s for 10 s, each served stale
            assert await cache.get("a") == "a#1"
            await asyncio.sleep(0.1)
        gaps = [b - a for (_, a), (_, b) in zip(loader.calls[1:], loader.calls[2:])]
        assert gaps and all(4.0 - 1e-9 <= g <= 4.1 + 1e-9 for g in gaps)
        await cache.aclose()

    run(main)


def _refresh_times(**options):
    async def main():
        loader = FakeLoader(delay=0.0, fail=lambda k, n: RuntimeError() if n > 1 else None)
        cache = make(loader, rng=random.Random(7), **options)
        await cache.get("a")
        await asyncio.sleep(10.0)
        for _ in range(300):
            await cache.get("a")
            await asyncio.sleep(0.1)
        await cache.aclose()
        return [t for _, t in loader.calls]

    return run(main)


def test_scalar_keywords_behave_exactly_like_the_objects():
    old = _refresh_times(breaker_threshold=None, backoff_base=0.5, backoff_max=8.0,
                         backoff_jitter=0.5)
    new = _refresh_times(breaker=None, backoff=Backoff(0.5, 8.0, 0.5))
    assert old == new and len(old) > 3


def test_a_backoff_with_its_own_rng_uses_it():
    a = _refresh_times(breaker=None, backoff=Backoff(0.5, 8.0, 0.5, rng=random.Random(1)))
    b = _refresh_times(breaker=None, backoff=Backoff(0.5, 8.0, 0.5, rng=random.Random(1)))
    assert a == b


@pytest.mark.parametrize("kwargs, error, match", [
    ({"breaker": CircuitBreaker(), "breaker_threshold": 3}, ValueError, "breaker"),
    ({"backoff": Backoff(), "backoff_base": 2.0}, ValueError, "backoff"),
    ({"breaker": "yes"}, ValueError, "breaker"),
    ({"backoff": 1.0}, ValueError, "backoff"),
    ({"breaker_treshold": 3}, TypeError, "breaker_treshold"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        make(FakeLoader(), **kwargs)


def test_breaker_without_a_clock_reads_the_running_loop():
    async def main():
        breaker = CircuitBreaker(1, 10.0)
        breaker.record_failure()
        assert breaker.opened_at == now() and not breaker.allow()
        await asyncio.sleep(10.0)
        assert breaker.allow() and breaker.state == "half-open"

    run(main)


def test_a_breaker_the_cache_builds_reads_the_cache_clock():
    from swrcache import ManualClock

    clock = ManualClock(1000.0)
    for options in ({}, {"breaker_threshold": 1, "breaker_cooldown": 5.0}):
        cache = make(FakeLoader(), clock=clock, **options)
        cache.breaker.record_failure()
        if options:
            assert cache.breaker.state == "open" and cache.breaker.opened_at == clock()
            assert not cache.breaker.would_allow()
            clock.advance(5.0)
            assert cache.breaker.would_allow()


@pytest.mark.parametrize("options, keyed", [
    ({}, False),
    ({"early_refresh_beta": 0.0}, False),
    ({"namespace": "v2"}, True),
    ({"early_refresh_beta": 1.0}, True),
])
def test_namespaced_or_xfetch_caches_are_still_swrcaches(options, keyed):
    cache = make(FakeLoader(), **options)
    assert isinstance(cache, SWRCache) and type(cache).__name__ == "SWRCache"
    assert (type(cache) is not SWRCache) == keyed
    assert type(cache).get.__doc__ == SWRCache.get.__doc__
    assert type(cache).get_nowait.__doc__ == SWRCache.get_nowait.__doc__
    typed = SWRCache[str, str](FakeLoader(), capacity=1, ttl=1.0, stale_ttl=1.0, **options)
    assert type(typed) is type(cache)


def test_invalid_beta_is_still_rejected_by_name():
    for beta in (-1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match="early_refresh_beta"):
            make(FakeLoader(), early_refresh_beta=beta)


def test_a_subclass_with_a_namespace_keeps_its_overrides_and_namespaced_hits():
    class Audited(SWRCache):
        seen: list = []

        def set(self, key, value):
            Audited.seen.append(key)
            super().set(key, value)

    async def main():
        cache = Audited(FakeLoader(), capacity=10, ttl=10, stale_ttl=10, namespace="v2")
        assert isinstance(cache, Audited) and type(cache).__name__ == "Audited"
        cache.set("user", "x")
        assert Audited.seen == ["user"] and cache.get_nowait("user") == "x"
        assert await cache.get("user") == "x" and ("v2", "user") in cache._data
        assert type(Audited(FakeLoader(), capacity=1, ttl=1, stale_ttl=1,
                            namespace="v3")) is type(cache)  # one class per subclass

    run(main)
