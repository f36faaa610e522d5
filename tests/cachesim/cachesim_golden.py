"""Seeded runs whose full results are pinned by digest (tests/cachesim/test_cachesim_golden.py).

The expected digests were computed with the implementation at commit 2c9ae03, before the
simulator was made faster: the faster one must give byte-identical results.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random

import numpy as np
from swrcache import SWRCache

from cachesim import (
    Exponential,
    Fixed,
    LogNormal,
    Uniform,
    NaiveCache,
    SimulatedDatabase,
    SingleflightCache,
    Workload,
    error_rate,
    outage,
    simulate,
    slowdown,
)

#: The counters every digest covers (the schema before `early_refreshes` joined it).
DIGEST_STATS = ("hits", "misses", "stale_served", "coalesced", "loads", "load_errors",
                "refresh_timeouts", "breaker_opens", "evictions")


def digest(r) -> str:
    """SHA-256 over everything a run measured: requests, every latency and error, the
    database's query log (start and end of every query, errors) and faults, the counters."""
    h = hashlib.sha256()
    stats = None if r.cache_stats is None else [r.cache_stats.get(f, 0) for f in DIGEST_STATS]
    head = dict(requests=r.requests, db_calls=r.db_calls, db_errors=r.db_errors,
                db_max_in_flight=r.db_max_in_flight, stats=stats, error_kinds=r.error_kinds,
                fault_events=[list(e) for e in r.fault_events])
    h.update(json.dumps(head, sort_keys=True).encode())
    for arr in (r.times, r.latencies, r.errors.astype(np.uint8), r.db_query_times, r.qps,
                r.in_flight_t, r.in_flight):
        h.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    return h.hexdigest()


def _bench_db():
    return SimulatedDatabase(latency=Exponential(0.005), faults=[slowdown(2, 1, 10)], seed=1)


def _swr(capacity, ttl, **kw):
    return lambda load: SWRCache(load, capacity=capacity, ttl=ttl, stale_ttl=30.0, wait_threshold=0.1,
                                 rng=random.Random(1), **kw)


class LockCache:
    """A learner's cache: one asyncio.Lock per key, asyncio.timeout after the first wait."""

    def __init__(self, load):
        self.load, self.data, self.locks = load, {}, {}

    async def get(self, key):
        if key in self.data:
            return self.data[key]
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self.data:
                async with asyncio.timeout(0.05):
                    self.data[key] = await self.load(key)
        return self.data[key]


class LateTimeoutCache:
    """Waits first, then needs a current task (asyncio.timeout) for its load."""

    def __init__(self, load):
        self.load, self.data = load, {}

    async def get(self, key):
        if key not in self.data:
            await asyncio.sleep(0.001)
            async with asyncio.timeout(0.02):
                self.data[key] = await self.load(key)
        return self.data[key]


class NeedsTaskCache(NaiveCache):
    async def get(self, key):
        async with asyncio.timeout(10):  # needs a current task before its first suspension
            return await super().get(key)


def _bench_workload(duration=4.0):
    return Workload(duration=duration, rate=5000, keys=10_000, zipf_s=1.0, seed=1)


def _run(name):
    if name == "bench-naive-ttl1":  # the bench's miss-heavy naive run, shorter
        return simulate(_bench_workload(), lambda l: NaiveCache(l, ttl=1.0), database=_bench_db())
    if name == "bench-naive-ttl60":
        return simulate(_bench_workload(), lambda l: NaiveCache(l, ttl=60.0), database=_bench_db())
    if name == "bench-swr-5k-ttl5":  # the bench's miss-heavy SWR run, shorter
        return simulate(_bench_workload(8.0), _swr(5_000, 5.0), database=_bench_db())
    if name == "bench-swr-10k-ttl60":
        return simulate(_bench_workload(), _swr(10_000, 60.0), database=_bench_db())
    if name == "swr-capacity-timeouts-errors":  # throttle queues, refresh timeouts, breaker, equal times
        w = Workload(duration=6, rate=800, keys=300, zipf_s=1.1, servers=2, deploys=[3.0], seed=5)
        db = SimulatedDatabase(latency=Fixed(0.02), capacity=150, seed=5,
                               faults=[error_rate(1, 1.5, 0.3), outage(4, 0.5)])
        return simulate(w, _swr(100, 0.5, refresh_timeout=0.3, max_refresh_concurrency=2),
                        database=db, warm=["user:0"], prewarm_on_deploy=["user:1"])
    if name == "singleflight-fixed-capacity":  # many timers at equal virtual times
        w = Workload(duration=5, rate=600, keys=50, zipf_s=0.8, arrivals="even", seed=2)
        db = SimulatedDatabase(latency=Fixed(0.05), capacity=300, seed=2)
        return simulate(w, lambda l: SingleflightCache(l, ttl=0.2), database=db)
    if name == "lock-cache-lognormal":
        w = Workload(duration=4, rate=700, keys=400, zipf_s=1.0, critical_fraction=0.1, seed=3)
        db = SimulatedDatabase(latency=LogNormal(0.02, 0.8), faults=[slowdown(1, 1, 5)], seed=3)
        return simulate(w, LockCache, database=db)
    if name == "swr-xfetch-uniform":  # early refreshes draw from the cache's rng
        w = Workload(duration=5, rate=1000, keys=500, zipf_s=1.2, seed=6)
        db = SimulatedDatabase(latency=Uniform(0.005, 0.05), seed=6)
        return simulate(w, _swr(300, 1.0, early_refresh_beta=1.0), database=db)
    if name == "late-timeout-cache":  # timeouts fire in some loads (lognormal tail)
        w = Workload(duration=3, rate=600, keys=300, seed=8)
        db = SimulatedDatabase(latency=LogNormal(0.01, 0.7), seed=8)
        return simulate(w, LateTimeoutCache, database=db)
    if name == "needs-task-cache":
        w = Workload(duration=3, rate=500, keys=200, seed=4)
        return simulate(w, lambda l: NeedsTaskCache(l, ttl=0.3), database=SimulatedDatabase(latency=Fixed(0.01)))
    if name == "rich-11":  # servers, deploys, bursts, capacity, slowdown and errors
        from cachesim_det_workload import rich_run

        return rich_run(11)
    if name.startswith("hot-key-demo-"):
        from cachesim.scenarios import hot_key_refresh_demo

        return hot_key_refresh_demo(seed=1, plot=False).results[int(name[-1])]
    raise KeyError(name)


RUNS = ("bench-naive-ttl1", "bench-naive-ttl60", "bench-swr-5k-ttl5", "bench-swr-10k-ttl60",
        "swr-capacity-timeouts-errors", "singleflight-fixed-capacity", "lock-cache-lognormal",
        "swr-xfetch-uniform", "needs-task-cache", "late-timeout-cache", "rich-11",
        "hot-key-demo-0", "hot-key-demo-1", "hot-key-demo-2")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    for name in RUNS:
        r = _run(name)
        print(f'    "{name}": "{digest(r)}",  # {r.requests} requests, {r.db_calls} db calls')
