"""Seeded randomized schedules: gets, invalidations, cancellations, errors and timeouts.

Each seed builds a random cache configuration and a random workload and runs it in
virtual time; the invariants below must hold for every one of them:

1. no caller waits forever (the run ends; no deadlock; every get finishes, and with a
   refresh_timeout no get waits longer than max(refresh_timeout, wait_threshold), plus
   one more refresh_timeout when the key was invalidated during the get);
2. nothing older than ttl + stale_ttl is served;
3. at most max_refresh_concurrency loader calls run at once per key;
4. a get that starts after invalidate(key) never sees a value loaded before it;
5. errors are never cached: a get only receives an error raised during its lifetime;
6. afterwards no background task, in-flight load, slot or floor is left behind.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from swr_helpers import run
from swrcache import CircuitOpenError, SWRCache

SEEDS_PER_CASE = 100
CASES = 20  # 2,000 seeded schedules


class LoadError(Exception):
    def __init__(self, load_id: int, raised_at: float) -> None:
        super().__init__(f"load {load_id} failed")
        self.raised_at = raised_at


class Value:
    __slots__ = ("key", "load_id", "version", "finished_at")

    def __init__(self, key, load_id, version, finished_at):
        self.key, self.load_id, self.version, self.finished_at = key, load_id, version, finished_at


def simulate(seed: int) -> dict:
    rng = random.Random(seed)
    ttl = rng.choice([0.0, 0.5, 1.0, 2.0])
    stale_ttl = rng.choice([0.0, 1.0, 3.0])
    wait_threshold = rng.choice([None, None, 0.2])
    refresh_timeout = rng.choice([None, 0.7, 1.5])
    max_conc = rng.choice([1, 1, 2, 3])
    capacity = rng.choice([0, 2, 5, 100])
    breaker = rng.choice([None, 3])
    budget = rng.choice([None, None, 2])
    fail_p = rng.choice([0.0, 0.2, 0.5])
    keys = ["a", "b", "c"][: rng.randint(1, 3)]

    versions = {k: 0 for k in keys}
    running = {k: 0 for k in keys}
    stats = {"max_running": 0, "gets": 0, "errors": 0, "cancelled": 0, "loads": 0}
    load_ids = iter(range(1, 10**9))

    async def loader(key):
        loop = asyncio.get_running_loop()
        load_id, version = next(load_ids), versions[key]
        stats["loads"] += 1
        running[key] += 1
        assert running[key] <= max_conc, "more concurrent loads for a key than allowed"
        try:
            await asyncio.sleep(rng.choice([0.0, 0.1, 0.3, 0.8, 2.0]))
            if rng.random() < fail_p:
                raise LoadError(load_id, loop.time())
            return Value(key, load_id, version, loop.time())
        finally:
            running[key] -= 1

    cache = SWRCache(
        loader, capacity=capacity, ttl=ttl, stale_ttl=stale_ttl,
        wait_threshold=wait_threshold, refresh_timeout=refresh_timeout,
        max_refresh_concurrency=max_conc, refresh_budget=budget,
        is_critical={"a"}, breaker_threshold=breaker, breaker_cooldown=1.0,
        backoff_base=0.2, backoff_max=2.0, rng=random.Random(seed),
    )
    bound = None
    if refresh_timeout is not None:
        bound = max(refresh_timeout, wait_threshold or 0.0) + 1e-9

    async def one_get(key):
        loop = asyncio.get_running_loop()
        start, version_at_start = loop.time(), versions[key]
        stats["gets"] += 1
        try:
            value = await cache.get(key)
        except (LoadError,) as exc:
            stats["errors"] += 1
            assert exc.raised_at >= start, "an error was served from cache"
        except (TimeoutError, CircuitOpenError):
            stats["errors"] += 1
        else:
            now = loop.time()
            assert value.key == key
            assert now - value.finished_at < ttl + stale_ttl or now == value.finished_at, (
                "served a value older than ttl + stale_ttl")
            assert value.version >= version_at_start, "an invalidated value came back"
        end = loop.time()
        if bound is not None:
            limit = bound
            if versions[key] != version_at_start:
                # Invalidated while this get waited for a refresh past its stale copy's
                # window: that refresh was cancelled, so it waits for one new load.
                limit += refresh_timeout
            assert end - start <= limit, f"get waited {end - start} > {limit}"

    async def client(cid):
        crng = random.Random(seed * 1000 + cid)
        tasks = []
        for _ in range(crng.randint(5, 15)):
            op = crng.random()
            key = crng.choice(keys)
            if op < 0.12:
                cache.invalidate(key)
                versions[key] += 1
            elif op < 0.3:
                t = asyncio.create_task(one_get(key))
                tasks.append(t)
                await asyncio.sleep(crng.choice([0.0, 0.05, 0.4, 1.0]))
                t.cancel()
            else:
                t = asyncio.create_task(one_get(key))
                tasks.append(t)
                if crng.random() < 0.5:
                    await t
            await asyncio.sleep(crng.choice([0.0, 0.0, 0.1, 0.5, 1.5]))
        for t in tasks:
            try:
                await t
            except asyncio.CancelledError:
                stats["cancelled"] += 1

    async def main():
        await asyncio.gather(*(client(c) for c in range(rng.randint(2, 6))))
        await cache.aclose()
        await asyncio.sleep(0)
        assert len(cache._flights) == 0
        assert not cache._active and not cache._key_slots and not cache._floor
        assert not cache._refreshes and not cache._latest_refresh
        s = cache.stats
        assert s.loads == stats["loads"]
        stats["hits"], stats["stale_served"] = s.hits, s.stale_served
        return stats

    return run(main)


@pytest.mark.parametrize("case", range(CASES))
def test_randomized_schedules(case):
    totals = {"gets": 0, "errors": 0, "cancelled": 0, "loads": 0, "hits": 0, "stale_served": 0}
    for seed in range(case * SEEDS_PER_CASE, (case + 1) * SEEDS_PER_CASE):
        result = simulate(seed)
        for k in totals:
            totals[k] += result[k]
    # The schedules really exercised the interesting paths.
    assert totals["gets"] > 1000 and totals["errors"] > 0 and totals["cancelled"] > 0
    assert totals["hits"] > 0 and totals["stale_served"] > 0 and totals["loads"] > 0


def test_same_seed_same_history():
    assert simulate(12345) == simulate(12345)
