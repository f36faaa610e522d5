"""swrcache.redis: the optional shared tier on Redis (the project's ``redis`` extra).

- `SharedTier`: the loader of each app server's local `SWRCache`; reads a shared store,
  refreshes it under a lease with a fencing token (one server per key), falls back to
  the database when the store fails. `SharedStats` counts what it did.
- `RedisStore`: versioned entries, compare-and-set, leases and invalidation on a real
  Redis, each one Lua round trip (redis-py's asyncio client, imported lazily).
- `redis_url`, `embedded_redis`, `RedisServer`: the one place that starts a Redis
  (``$REDIS_URL`` if set, else a private ``redis-server`` on a unix socket).
- the entry format and errors (`swrcache.redis.protocol`): no pickle, JSON payloads;
  `CorruptEntry` for a foreign value, `VersionConflict`, `FencedOut`, `StoreUnavailable`.

This is the only part of swrcache that talks to a network; the rest stays stdlib-only.

>>> from swrcache.redis import format_entry, encode_value, lookup_from
>>> lookup_from("k", format_entry(3, 10, 20, encode_value([1, 2])), now_ms=5, token=None)
Lookup(state='fresh', value=[1, 2], version=3, token=None, leased=False)
"""

from .protocol import (CorruptEntry, FencedOut, Lookup, SharedStore, SharedStoreError,
                       StoreUnavailable, VersionConflict, encode_value, format_entry,
                       lookup_from)
from .server import RedisServer, RedisUnavailable, embedded_redis, find_redis_server, redis_url
from .store import RedisStore
from .tier import SharedStats, SharedTier

__all__ = [
    "CorruptEntry", "FencedOut", "Lookup", "RedisServer", "RedisStore", "RedisUnavailable",
    "SharedStats", "SharedStore", "SharedStoreError", "SharedTier", "StoreUnavailable",
    "VersionConflict", "embedded_redis", "encode_value", "find_redis_server",
    "format_entry", "lookup_from", "redis_url",
]
