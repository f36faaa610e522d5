"""swrcache: a small, production-grade async cache.

- `LRUCache`: a bounded O(1) least-recently-used mapping.
- `Singleflight`: concurrent calls for one key share one execution.
- `SWRCache`: stale-while-revalidate with coalescing, a wait threshold, bounded refresh
  concurrency, refresh timeouts, a circuit breaker, jittered backoff, XFetch early
  refresh, prewarm, invalidation no in-flight load can undo, and versioned keys.
- `CacheStats`: what a cache did, as plain counters.

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
from .clock import Clock, ManualClock, loop_time
from .lru import LRUCache
from .singleflight import Singleflight
from .slots import PrioritySlots
from .stats import CacheStats
from .swr import SWRCache
from .xfetch import should_refresh_early

__all__ = [
    "Backoff",
    "CacheStats",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "LRUCache",
    "ManualClock",
    "PrioritySlots",
    "SWRCache",
    "Singleflight",
    "loop_time",
    "should_refresh_early",
]

__version__ = "0.1.0"
