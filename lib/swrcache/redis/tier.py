"""`SharedTier`: a shared cache between app servers, behind each server's local `SWRCache`.

The tier is the local cache's *loader*: a local hit never touches the network (it is the
plain `SWRCache` hit path); a local miss or refresh asks the shared store, and only then
the database. With leases (``lease_ttl``, the default), one app server per key loads from
the database when the shared entry is missing or stale, as Facebook's memcache leases do
(NSDI 2013): the others serve the stale shared value, or wait up to ``lease_wait`` for the
holder's write and then load on their own (without writing). The holder's write carries
its fencing token and the store checks it in the same Lua script as the version, so a
writer that stalled past its lease, or whose key was invalidated meanwhile, is rejected.

>>> import asyncio
>>> from swrcache.redis import RedisStore                # $REDIS_URL, else embedded
>>> async def main():
...     async def db(user_id):
...         return {"id": user_id}
...     async with RedisStore() as store:
...         tier = SharedTier(store, db, ttl=30.0, stale_ttl=300.0)
...         await tier.invalidate(7)                      # start from a missing entry
...         async with tier.cache(capacity=1000, ttl=1.0, stale_ttl=30.0) as local:
...             await local.get(7); await local.get(7)    # a miss, then a local hit
...     return tier.stats.db_loads, tier.stats.writes, local.stats.hits
>>> asyncio.run(main())
(1, 1, 1)
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..swr import SWRCache
from .protocol import (CorruptEntry, FencedOut, Lookup, SharedStore, SharedStoreError,
                       VersionConflict)

__all__ = ["SharedStats", "SharedTier"]

log = logging.getLogger("swrcache.redis")
_MAX_ERRORS = 128


@dataclass(slots=True)
class SharedStats:
    """What a `SharedTier` did (plain counters).

    - ``shared_hits`` / ``shared_stale``: loads answered by a fresh / stale shared entry;
    - ``leases``: leases this tier won (it then loaded from the database and wrote);
    - ``lease_waits``: loads that waited for another holder's write and got it;
      ``lease_wait_timeouts``: waited ``lease_wait`` in vain and loaded themselves;
    - ``db_loads``: database loader calls; ``writes``: shared writes that landed;
    - ``rejected_writes``: writes the store refused (version changed, lease fenced out);
    - ``store_errors``: store calls that failed (down, timed out); ``corrupt_entries``:
      foreign values found (reported per key in `SharedTier.errors`).
    """

    shared_hits: int = 0
    shared_stale: int = 0
    leases: int = 0
    lease_waits: int = 0
    lease_wait_timeouts: int = 0
    db_loads: int = 0
    writes: int = 0
    rejected_writes: int = 0
    store_errors: int = 0
    corrupt_entries: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict. Raises nothing."""
        return asdict(self)

    def reset(self) -> None:
        """Set every counter back to zero. Raises nothing."""
        for f in fields(self):
            setattr(self, f.name, 0)


def _seconds(name: str, value: float | None, *, allow_none: bool = False,
             positive: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a {'positive' if positive else 'non-negative'} "
                         f"number of seconds{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


class SharedTier:
    """The shared tier: `load(key)` reads the shared store, refreshes it under a lease.

    - ``store``: a `RedisStore` or `cachesim.shared_store.SharedStoreModel`.
    - ``loader``: ``async def loader(key) -> value`` (the database); values must be
      JSON-serialisable (see `swrcache.redis.protocol`).
    - ``ttl`` / ``stale_ttl``: the shared entry's fresh and stale windows (store clock).
    - ``lease_ttl``: how long a refresh lease lasts (None: no leases; every server that
      misses loads and writes by version compare-and-set).
    - ``lease_wait`` / ``lease_poll``: how long a miss waits for another holder's write,
      re-reading every ``lease_poll`` seconds (of the running loop's clock).
    - ``fallback``: when the store fails, load from the database (True), or raise the
      store's error so the local cache serves its stale value (False).
    - ``key``: turns a cache key into the store key (default ``str``).
    """

    def __init__(self, store: SharedStore, loader: Callable[[Any], Awaitable[Any]], *,
                 ttl: float, stale_ttl: float = 0.0, lease_ttl: float | None = 5.0,
                 lease_wait: float = 0.1, lease_poll: float = 0.01, fallback: bool = True,
                 key: Callable[[Any], str] = str) -> None:
        self.store = store
        self._loader = loader
        self._ttl = _seconds("ttl", ttl)
        self._stale_ttl = _seconds("stale_ttl", stale_ttl, positive=False)
        self._lease_ttl = _seconds("lease_ttl", lease_ttl, allow_none=True)
        self._lease_wait = _seconds("lease_wait", lease_wait, positive=False)
        self._lease_poll = _seconds("lease_poll", lease_poll)
        self._fallback = bool(fallback)
        self._key = key
        self._caches: list[SWRCache[Any, Any]] = []
        #: What this tier did.
        self.stats = SharedStats()
        #: The latest error per store key (foreign values, failed writes); bounded.
        self.errors: OrderedDict[str, str] = OrderedDict()
        #: The latest store failure (None until one happens).
        self.last_error: BaseException | None = None

    # ------------------------------------------------------------------ public API
    def cache(self, **kwargs: Any) -> SWRCache[Any, Any]:
        """Return a local `SWRCache` whose loader is this tier (`kwargs` go to it).

        `invalidate` also invalidates the caches made here. Raises: ValueError from
        `SWRCache` for bad arguments.
        """
        local: SWRCache[Any, Any] = SWRCache(self.load, **kwargs)
        self._caches.append(local)
        return local

    async def load(self, key: Hashable) -> Any:
        """Return the value for `key`: from the shared store, else from the database.

        Raises:
            Exception: the loader's exception, when the database is needed and fails.
            StoreUnavailable, SharedStoreError: the store failed, only with
                ``fallback=False`` (else the database answers; see ``store_errors``).

        Store trouble never fails a load otherwise: a foreign entry is reported in
        `errors` and the database answers; a value that is not JSON is returned to the
        caller, reported and not written.

        A cancelled caller leaves no write behind; a lease it held expires after
        ``lease_ttl`` and passes to the next server.
        """
        skey = self._key(key)
        look = await self._get(key, skey)
        if look is None:
            return await self._db(key)
        if look.state == "fresh":
            self.stats.shared_hits += 1
            return look.value
        if look.token is not None:
            return await self._refresh(key, skey, look)
        if self._lease_ttl is None:  # no leases: load, then compare-and-set
            value = await self._db(key)
            await self._write(skey, value, look.version, None)
            return value
        if look.state == "stale":  # another server holds the lease and refreshes it
            self.stats.shared_stale += 1
            return look.value
        for _ in range(math.ceil(self._lease_wait / self._lease_poll)):
            await asyncio.sleep(self._lease_poll)
            look = await self._get(key, skey)
            if look is None:
                return await self._db(key)
            if look.state != "missing":
                self.stats.lease_waits += 1
                return look.value
            if look.token is not None:  # the holder gave up or its lease expired
                return await self._refresh(key, skey, look)
        self.stats.lease_wait_timeouts += 1
        return await self._db(key)

    async def invalidate(self, key: Hashable) -> None:
        """Invalidate `key` in the shared store (bumping its version and revoking its
        lease, so no refresh in flight anywhere can write it back) and in the local
        caches made by `cache`.

        Raises:
            CorruptEntry: a foreign value is stored at the key (local caches are
                invalidated anyway).
            StoreUnavailable / SharedStoreError: the store failed (local caches are
                invalidated anyway; retry to reach the other servers).

        A cancelled caller has invalidated the local caches; the store may or may not
        have been reached.
        """
        for local in self._caches:
            local.invalidate(key)
        await self.store.invalidate(self._key(key))

    async def aclose(self) -> None:
        """Close the local caches made by `cache` (not the store). Raises nothing."""
        for local in self._caches:
            await local.aclose()

    # ------------------------------------------------------------------ internals
    async def _get(self, key: Hashable, skey: str) -> Lookup | None:
        """The store's lookup, or None when the database should answer instead."""
        try:
            return await self.store.get(skey, lease_ttl=self._lease_ttl)
        except CorruptEntry as exc:
            self.stats.corrupt_entries += 1
            self._report(skey, exc)
            return None
        except SharedStoreError as exc:
            self.stats.store_errors += 1
            self.last_error = exc
            if not self._fallback:
                raise
            return None

    async def _db(self, key: Hashable) -> Any:
        self.stats.db_loads += 1
        return await self._loader(key)

    async def _refresh(self, key: Hashable, skey: str, look: Lookup) -> Any:
        self.stats.leases += 1
        assert look.token is not None
        try:
            value = await self._db(key)
        except Exception:
            try:  # let the next server try at once instead of after lease_ttl
                await self.store.release_lease(skey, look.token)
            except SharedStoreError:
                pass
            raise
        await self._write(skey, value, look.version, look.token)
        return value

    async def _write(self, skey: str, value: Any, version: int, token: int | None) -> None:
        try:
            await self.store.cas(skey, value, version=version, ttl=self._ttl,
                                 stale_ttl=self._stale_ttl, token=token)
            self.stats.writes += 1
        except (VersionConflict, FencedOut):
            self.stats.rejected_writes += 1  # a newer write or an invalidation won
        except CorruptEntry as exc:
            self.stats.corrupt_entries += 1
            self._report(skey, exc)
        except (TypeError, ValueError) as exc:
            self.stats.rejected_writes += 1
            self._report(skey, exc)
        except SharedStoreError as exc:
            self.stats.store_errors += 1
            self.last_error = exc

    def _report(self, skey: str, exc: BaseException) -> None:
        self.errors[skey] = f"{type(exc).__name__}: {exc}"
        self.errors.move_to_end(skey)
        while len(self.errors) > _MAX_ERRORS:
            self.errors.popitem(last=False)
        log.warning("shared tier, key %r: %s", skey, exc)

    def __repr__(self) -> str:
        return f"<SharedTier store={self.store!r} lease_ttl={self._lease_ttl}>"
