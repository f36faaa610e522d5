"""swrcache: a small, production-grade async cache.

- `LRUCache`: a bounded O(1) least-recently-used mapping.
- `Singleflight`: concurrent calls for one key share one execution.
- `SWRCache`: stale-while-revalidate with coalescing, a wait threshold, bounded refresh
  concurrency, refresh timeouts, a circuit breaker, jittered backoff, XFetch early
  refresh, prewarm, invalidation no in-flight load can undo, and versioned keys.
- `CacheStats`: what a cache did, as plain counters; its dataclass fields are the one
  counter schema (``dataclasses.fields(CacheStats)``).
- `CircuitBreaker` and `Backoff`: the objects ``SWRCache(breaker=..., backoff=...)``
  takes; `CircuitOpenError` and `WouldBlock`: what `SWRCache` raises of its own.

Standard library only. Time comes from the running event loop (or an injected clock).

>>> import asyncio
>>> async def main():
...     async def load(user_id):
...         return {"id": user_id}
...     async with SWRCache(load, capacity=1000, ttl=30.0, stale_ttl=300.0) as cache:
...         return await cache.get(7)
>>> asyncio.run(main())
{'id': 7}
"""

from .backoff import Backoff
from .breaker import CircuitBreaker, CircuitOpenError
from .lru import LRUCache
from .singleflight import Singleflight
from .stats import CacheStats
from .errors import WouldBlock
from .swr import SWRCache

# Importable from here for existing code, but not the public API (not in __all__): their
# modules (swrcache.clock, swrcache.slots, swrcache.xfetch) are where they live.
from .clock import Clock, ManualClock, loop_time  # noqa: E402,F401  (test and clock helpers)
from .slots import PrioritySlots  # noqa: E402,F401  (SWRCache's refresh slots)
from .xfetch import should_refresh_early  # noqa: E402,F401  (SWRCache's XFetch rule)

__all__ = [
    "SWRCache",
    "WouldBlock",
    "CacheStats",
    "LRUCache",
    "Singleflight",
    "CircuitBreaker",
    "CircuitOpenError",
    "Backoff",
]

__version__ = "0.1.0"
