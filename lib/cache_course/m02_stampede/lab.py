"""Module 02's lab bench: the stampede scenario the notebook, its visible checks and its hidden
tests all share, so a learner cannot change what they are graded against by editing a cell.

Everything runs in virtual time (`cachesim.simulate`): a thousand callers and a two-second
load cost milliseconds of wall time, and give the same numbers everywhere.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Callable

from ..lab import LabCache, Prefilled, require_no_stub_errors

#: Seconds a session stays fresh in the module's caches.
TTL = 1.0
#: Seconds after that a stale session may still be served while it is refreshed.
STALE_TTL = 10.0
#: Database connections the service may hold at once (each query holds one).
POOL_SIZE = 16


def stampede_workload(seed: int):
    """3 s of traffic at 2,000 requests/s over 100 users, a few of them very hot (Zipf 1.1)."""
    from cachesim import Workload

    return Workload(duration=3.0, rate=2000, keys=100, zipf_s=1.1, seed=seed)


def stampede_database(seed: int):
    """The session table: about 50 ms per query (log-normal), seeded."""
    from cachesim import LogNormal, SimulatedDatabase

    return SimulatedDatabase(latency=LogNormal(0.05, 0.3), seed=seed)


def connection_pool(load: Callable, size: int = POOL_SIZE) -> Callable:
    """Wrap `load` so at most `size` queries run at once; the rest queue for a connection.

    That queue is where a stampede turns into tail latency: 16 connections x 50 ms is about
    320 queries a second, and a herd of misses asks for far more.
    """
    pool = asyncio.Semaphore(size)

    async def pooled(key):
        async with pool:
            return await load(key)

    return pooled


class DraftCache(LabCache):
    """The draft's cache at its simplest: a dict with a TTL; every miss reads the database.

    The notebook calls it `NaiveCache` (the alias below). It is not `cachesim.NaiveCache`,
    the simulator's baseline: this one has the `put` the lab bench pre-fills through.
    """

    def __init__(self, loader: Callable, *, ttl: float) -> None:
        super().__init__(loader, ttl=ttl)

    async def get(self, key):
        hit = self.age(key)
        if hit is not None and hit[1] < self.ttl:
            return hit[0]
        return await self._load(key)


#: The name module 02's notebook (and learners' saved answers) use.
NaiveCache = DraftCache


def reference_singleflight() -> type:
    """The course's Singleflight (`swrcache.Singleflight`), for the questions that *use* one."""
    from swrcache import Singleflight

    return Singleflight


class ReferenceStaleWhileRevalidate(LabCache):
    """The course's stale-while-revalidate, for the questions that *use* one (the benchmark),
    so their points do not depend on the learner's answer to the `swr` question."""

    def __init__(self, loader: Callable, *, ttl: float, stale_ttl: float) -> None:
        super().__init__(loader, ttl=ttl, stale_ttl=stale_ttl)
        self._flight = reference_singleflight()()
        self._refreshing: dict = {}

    async def get(self, key):
        hit = self.age(key)
        if hit is not None:
            value, age = hit
            if age < self.ttl:
                return value
            if age < self.ttl + self.stale_ttl:
                if key not in self._refreshing:
                    task = asyncio.ensure_future(self._flight.do(key, lambda: self._load(key)))
                    self._refreshing[key] = task
                    task.add_done_callback(lambda t, key=key: (self._refreshing.pop(key, None),
                                                               t.cancelled() or t.exception()))
                return value
        return await self._flight.do(key, lambda: self._load(key))


def run_stampede(make_cache: Callable, seed: int, *, name: str | None = None):
    """Simulate the stampede scenario for one cache factory; returns a `cachesim.SimResult`.

    `make_cache(load)` gets the database's query function (already behind the connection
    pool) and returns a cache with `async get(key)` and `put(key, value)`. Every user's
    session is in the cache when traffic starts, so all entries expire together 1 s in.
    """
    from cachesim import simulate

    workload = stampede_workload(seed)
    return require_no_stub_errors(simulate(
        workload,
        lambda load: Prefilled(make_cache(connection_pool(load))),
        database=stampede_database(seed),
        warm=workload.key_names,
        name=name,
        progress=False,
    ))


@functools.lru_cache(maxsize=4)
def naive_stampede(seed: int):
    """The draft's naive cache in the stampede (the "before" of the module's figures), once per seed."""
    return run_stampede(lambda load: DraftCache(load, ttl=TTL), seed)
