"""Tiny reference caches to compare against: what the course's first drafts look like.

Any object with an `async get(key)` method can be simulated (see `cachesim.CacheLike`);
these two are the "before" pictures.

>>> import asyncio
>>> from cachesim import run
>>> calls = []
>>> async def load(key):
...     calls.append(key)
...     await asyncio.sleep(1.0)
...     return key.upper()
>>> async def main():
...     cache = NaiveCache(load, ttl=10)
...     return await asyncio.gather(*(cache.get("k") for _ in range(5)))
>>> run(main), len(calls)        # five concurrent misses, five loads
(['K', 'K', 'K', 'K', 'K'], 5)
"""

from __future__ import annotations

import asyncio
from dataclasses import field, fields, make_dataclass
from typing import Any, Awaitable, Callable, Hashable

from swrcache import CacheStats

__all__ = ["BaselineStats", "DoubleReadCache", "FlakyCache", "NaiveCache", "SingleflightCache"]

Loader = Callable[[Hashable], Awaitable[Any]]


#: The counters `SWRCache.stats` has (`swrcache.CacheStats`'s fields), for the baselines;
#: the ones a baseline does not use stay 0.
BaselineStats = make_dataclass(
    "BaselineStats",
    [(f.name, int, field(default=0)) for f in fields(CacheStats)],
    namespace={
        "__module__": __name__,
        "__doc__": "The counters `SWRCache.stats` has (the fields of `swrcache.CacheStats`), "
                   "for the baselines (unused ones stay 0).",
    },
)


def _check_ttl(ttl: float) -> float:
    if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or not ttl >= 0:
        raise ValueError(f"ttl must be a non-negative number, got {ttl!r}")
    return float(ttl)


class NaiveCache:
    """A dict with a TTL: every miss (or expired entry) calls the loader. No coalescing.

    Args:
        loader: `async loader(key) -> value`.
        ttl: seconds a loaded value stays fresh (loop time).
    """

    def __init__(self, loader: Loader, *, ttl: float) -> None:
        self._loader = loader
        self.ttl = _check_ttl(ttl)
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self.stats = BaselineStats()

    async def get(self, key: Hashable) -> Any:
        """The cached value if fresh, else the loader's (each caller loads on its own)."""
        now = asyncio.get_running_loop().time()
        entry = self._data.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            self.stats.hits += 1
            return entry[1]
        self.stats.misses += 1
        self.stats.loads += 1
        try:
            value = await self._loader(key)
        except Exception:
            self.stats.load_errors += 1
            raise
        self._data[key] = (asyncio.get_running_loop().time(), value)
        return value

    def invalidate(self, key: Hashable) -> None:
        self._data.pop(key, None)

    async def prewarm(self, keys) -> None:
        for key in keys:
            value = await self._loader(key)
            self.stats.loads += 1
            self._data[key] = (asyncio.get_running_loop().time(), value)


class SingleflightCache(NaiveCache):
    """A dict with a TTL whose misses are coalesced with `swrcache.Singleflight`: one load
    per key at a time, every caller waits for it (no stale serving).

    >>> import asyncio
    >>> from cachesim import run
    >>> calls = []
    >>> async def load(key):
    ...     calls.append(key)
    ...     await asyncio.sleep(2.0)
    ...     return key
    >>> async def main():
    ...     cache = SingleflightCache(load, ttl=10)
    ...     await asyncio.gather(*(cache.get("k") for _ in range(100)))
    ...     return asyncio.get_running_loop().time()
    >>> run(main), len(calls)        # a hundred callers, one load, all waited 2 s
    (2.0, 1)
    """

    def __init__(self, loader: Loader, *, ttl: float) -> None:
        from swrcache import Singleflight

        super().__init__(loader, ttl=ttl)
        self._flight = Singleflight()
        self._leaders = 0

    async def get(self, key: Hashable) -> Any:
        """The cached value if fresh, else the one shared load's result."""
        now = asyncio.get_running_loop().time()
        entry = self._data.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            self.stats.hits += 1
            return entry[1]
        self.stats.misses += 1
        started = []

        async def load() -> Any:
            started.append(True)
            self.stats.loads += 1
            try:
                value = await self._loader(key)
            except Exception:
                self.stats.load_errors += 1
                raise
            self._data[key] = (asyncio.get_running_loop().time(), value)
            return value

        result = await self._flight.do(key, load)
        if not started:
            self.stats.coalesced += 1
        return result


# --------------------------------------------------------------------------- bad canaries
# Caches a canary should lose to (modules 05-06, the shipping lab's tests and bench).


class DoubleReadCache:
    """DoubleReadCache reads the old key schema too on every miss, one query after the other
    (twice the database calls and twice the miss latency of a plain TTL cache)."""

    def __init__(self, load: Callable[[Any], Awaitable[Any]], ttl: float = 30.0) -> None:
        self.load, self.ttl, self.data = load, ttl, {}

    async def get(self, key: Hashable) -> Any:
        now = asyncio.get_running_loop().time()
        hit = self.data.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        await self.load(("v1", key))
        value = await self.load(key)
        self.data[key] = (value, asyncio.get_running_loop().time() + self.ttl)
        return value


class FlakyCache:
    """FlakyCache wraps a cache and fails every ``every``-th read (a serialisation bug)."""

    def __init__(self, inner: Any, every: int = 25) -> None:
        self.inner, self.every, self.n = inner, every, 0

    async def get(self, key: Hashable) -> Any:
        self.n += 1
        if self.n % self.every == 0:
            raise ValueError("cannot decode session")
        return await self.inner.get(key)
