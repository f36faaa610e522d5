#!/usr/bin/env python
"""Benchmark the shared tier (swrcache.redis), each figure beside its baseline, one run.

    python bench/bench_redis.py          (or: make bench)

The server is ``$REDIS_URL`` if set, else the embedded redis-server (started here on a
unix socket, stopped at exit).

1. Local hit with the shared tier configured vs a plain ``SWRCache`` hit (target:
   at most 1.1x): the tier is the local cache's loader, so a hit never touches Redis.
   Medians of round-robin samples of this thread's CPU time.
2. A shared-tier hit (``SharedTier.load`` on a fresh shared entry: one EVALSHA and a
   JSON decode) and ``RedisStore.get`` vs a raw redis-py ``GET`` of the same bytes on
   the same server (wall time per round trip, medians; information, no target).
3. Database calls for N = 1, 4, 16 app servers: each server alone, a shared tier
   without leases, with leases; in the simulator (virtual time, deterministic), then at
   small scale on the real Redis.

A report, not a gate: exits 0 whatever the figures (non-zero only if something errors).
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cachesim.shared_store import SHARED_MODES, simulate_app_servers
from swrcache import SWRCache
from swrcache.redis import RedisStore, SharedTier, redis_url

REPEATS = 11
CLOCK = time.thread_time
KEYS = list(range(1000))
PREFIX = "bench:"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


async def identity(key: Any) -> Any:
    return key


async def cpu_passes(contenders: list[tuple[str, Callable[[Any], Awaitable[Any]]]]
                     ) -> list[float]:
    async def passes(get: Callable[[Any], Awaitable[Any]], n: int) -> float:
        t0 = CLOCK()
        for _ in range(n):
            for k in KEYS:
                await get(k)
        return CLOCK() - t0

    sizes = []
    for _, get in contenders:
        await passes(get, 1)  # warm: every key loaded once
        sizes.append(max(1, int(0.03 / max(await passes(get, 1), 1e-9))))
    samples: list[list[float]] = [[] for _ in contenders]
    gc.disable()
    try:
        for _ in range(REPEATS):
            for i, (_, get) in enumerate(contenders):
                samples[i].append(await passes(get, sizes[i]) / (sizes[i] * len(KEYS)))
    finally:
        gc.enable()
    return [statistics.median(s) for s in samples]


async def local_hit(url: str) -> tuple[float, float]:
    plain = SWRCache(identity, capacity=10_000, ttl=3600.0, stale_ttl=3600.0)
    store = RedisStore(url, prefix=PREFIX + "hit:")
    tier = SharedTier(store, identity, ttl=3600.0)
    for k in KEYS:
        await tier.invalidate(k)  # a clean start whatever the server held
    shared = tier.cache(capacity=10_000, ttl=3600.0, stale_ttl=3600.0)
    base, with_tier = await cpu_passes([("plain", plain.get), ("tier", shared.get)])
    assert tier.stats.db_loads == len(KEYS) and shared.stats.hits > 0
    await plain.aclose()
    await tier.aclose()
    await store.aclose()
    return base, with_tier


async def round_trips(url: str, n: int = 2000) -> dict[str, float]:
    import redis.asyncio as aioredis

    store = RedisStore(url, prefix=PREFIX + "rt:")
    tier = SharedTier(store, identity, ttl=3600.0)
    await store.cas("user", {"id": 1, "name": "Ada"}, version=None, ttl=3600.0)
    raw_client = aioredis.Redis.from_url(url, decode_responses=False)
    raw_key = PREFIX + "rt:e:user"
    contenders = {
        "raw redis-py GET of the same entry": lambda: raw_client.get(raw_key),
        "RedisStore.get (EVALSHA, decode)": lambda: store.get("user"),
        "SharedTier.load, shared hit": lambda: tier.load("user"),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for call in contenders.values():
        for _ in range(50):
            await call()
    for _ in range(REPEATS):
        for name, call in contenders.items():
            t0 = time.perf_counter()
            for _ in range(n // REPEATS):
                await call()
            samples[name].append((time.perf_counter() - t0) / (n // REPEATS))
    assert tier.stats.shared_hits > 0 and tier.stats.db_loads == 0
    await raw_client.aclose()
    await store.aclose()
    return {name: statistics.median(s) for name, s in samples.items()}


async def real_servers(url: str, servers: int, mode: str, keys: int = 5, rounds: int = 3) -> float:
    """`servers` tiers (one connection pool each) miss `keys` keys at once, `rounds` times."""
    calls = 0

    async def db(key: Any) -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        return {"key": key}

    stores = [RedisStore(url, prefix=f"{PREFIX}n{servers}{mode}:") for _ in range(servers)]
    tiers = [SharedTier(s, db, ttl=60.0, lease_ttl=None if mode == "shared" else 1.0,
                        lease_wait=1.0, lease_poll=0.005) for s in stores]
    locals_ = [t.cache(capacity=100, ttl=60.0, stale_ttl=0.0) for t in tiers]
    for r in range(rounds):
        for k in range(keys):
            await stores[0].invalidate(f"{r}:{k}")
    for r in range(rounds):
        await asyncio.gather(*(c.get(f"{r}:{k}") for c in locals_ for k in range(keys)))
    for t, s in zip(tiers, stores):
        await t.aclose()
        await s.aclose()
    return calls / (keys * rounds)


async def real_servers_local(servers: int, keys: int = 5, rounds: int = 3) -> float:
    calls = 0

    async def db(key: Any) -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        return key

    caches = [SWRCache(db, capacity=100, ttl=60.0, stale_ttl=0.0) for _ in range(servers)]
    for r in range(rounds):
        await asyncio.gather(*(c.get(f"{r}:{k}") for c in caches for k in range(keys)))
    return calls / (keys * rounds)


def main() -> int:
    url = redis_url()
    print("shared tier (swrcache.redis) benchmark")
    source = "$REDIS_URL" if os.environ.get("REDIS_URL") else "the embedded redis-server"
    print(f"  Python {platform.python_version()} on {platform.machine()}; Redis: {source}")
    print()

    print("1. Local hit: awaited get of a cached key (us per get, thread CPU time)")
    base, with_tier = asyncio.run(local_hit(url))
    ratio = with_tier / base
    print(f"  {'SWRCache.get, plain (baseline)':<52} {base * 1e6:8.3f} us   1.00x")
    print(f"  {'SWRCache.get, shared tier configured':<52} {with_tier * 1e6:8.3f} us   {ratio:5.2f}x")
    print(f"  target local hit with the tier <= 1.1x plain: {ratio:.2f}x  {verdict(ratio <= 1.1)}")
    print()

    print("2. Shared-tier hit round trip vs raw redis-py GET, same server (us per call, wall time)")
    rts = asyncio.run(round_trips(url))
    raw = rts["raw redis-py GET of the same entry"]
    for name, t in rts.items():
        print(f"  {name:<52} {t * 1e6:8.1f} us   {t / raw:5.2f}x")
    print()

    print("3. Database calls per key expiry, N app servers (simulator: 20 keys, 60 s, ttl 5 s, db 50 ms)")
    print(f"  {'servers':>7}  " + "  ".join(f"{m:>16}" for m in SHARED_MODES) + "   leases vs alone")
    expiries = 20 * 60 / 5.0
    for n in (1, 4, 16):
        calls = {m: simulate_app_servers(n, m).db_calls for m in SHARED_MODES}
        cells = "  ".join(f"{calls[m]:>6} ({calls[m] / expiries:4.2f}/exp)" for m in SHARED_MODES)
        print(f"  {n:>7}  {cells}   {calls['leases'] / calls['local']:5.2f}x")
    print("  real Redis, small scale (5 keys x 3 rounds, all servers miss at once, db 20 ms):"
          " database calls per key")
    for n in (1, 4, 16):
        alone = asyncio.run(real_servers_local(n))
        shared = asyncio.run(real_servers(url, n, "shared"))
        leased = asyncio.run(real_servers(url, n, "leases"))
        print(f"  {n:>7}  alone {alone:5.1f}   shared, no leases {shared:5.1f}   leases {leased:5.1f}"
              f"   target leases == 1: {verdict(leased == 1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
