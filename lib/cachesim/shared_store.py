"""`SharedStoreModel`: the shared store's semantics in memory, on the virtual clock.

It answers exactly what `swrcache.redis.RedisStore` answers (versioned get, version
compare-and-set, leases with fencing tokens, invalidate that bumps the version, expiry
at stale-until), stores entries in the same ``swr1`` format, and reads time from the
running loop (or an injected clock), so many app servers can share it inside one
simulation. ``tests/redis`` runs one contract suite against this model and a real Redis,
so the two cannot drift apart.

>>> import asyncio
>>> from swrcache import ManualClock
>>> async def main():
...     store = SharedStoreModel(clock=ManualClock())
...     miss = await store.get("user:1", lease_ttl=5.0)          # missing: lease granted
...     v = await store.cas("user:1", {"name": "Ada"}, version=miss.version, ttl=30.0,
...                         token=miss.token)
...     return miss.state, (await store.get("user:1")).value, v > miss.version
>>> asyncio.run(main())
('missing', {'name': 'Ada'}, True)
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

from swrcache.clock import Clock, loop_time
from swrcache.redis.protocol import (CorruptEntry, Lookup, StoreUnavailable, cas_result,
                                     encode_value, format_entry, lookup_from, parse_entry)
from swrcache.redis.tier import SharedTier
from swrcache.swr import SWRCache

from .database import SimulatedDatabase
from .results import SimResult
from .simulation import simulate
from .workload import Workload

__all__ = ["SHARED_MODES", "SharedStoreModel", "simulate_app_servers"]

#: How `simulate_app_servers` caches: each server alone, a shared tier without leases,
#: a shared tier with leases.
SHARED_MODES = ("local", "shared", "leases")


def _ms(name: str, seconds: float, minimum: int = 1) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError(f"{name} must be a non-negative number of seconds, got {seconds!r}")
    ms = int(round(seconds * 1000))
    if ms < minimum:
        raise ValueError(f"{name} must be at least {minimum} ms, got {seconds!r} s")
    return ms


class SharedStoreModel:
    """An in-memory shared store with Redis's semantics (see `RedisStore`).

    - ``clock``: seconds; default the running loop's ``time()`` (virtual time in a
      simulation). Times are kept in whole milliseconds, as Redis does.
    - ``latency``: seconds each call takes (a network round trip), 0: answers at once.
    - ``tombstone_ttl``: as for `RedisStore`.

    Every call happens at the end of its ``latency`` (a caller cancelled before then
    changed nothing), and raises what the `RedisStore` call raises.

    Test hooks: ``down = True`` makes every call raise `StoreUnavailable`;
    `put_foreign` stores a value written by something else; ``calls`` counts calls.
    """

    def __init__(self, *, clock: Clock | None = None, latency: float = 0.0,
                 tombstone_ttl: float = 300.0) -> None:
        self._clock = clock if clock is not None else loop_time
        if not (isinstance(latency, (int, float)) and latency >= 0):
            raise ValueError(f"latency must be a non-negative number of seconds, got {latency!r}")
        self.latency = float(latency)
        self._tombstone_ms = _ms("tombstone_ttl", tombstone_ttl)
        self._entries: dict[str, tuple[Any, int]] = {}  # key -> (raw, expires_at_ms)
        self._leases: dict[str, tuple[int, int]] = {}  # key -> (token, expires_at_ms)
        self._seq = 0
        self.down = False
        self.calls = 0

    # ------------------------------------------------------------------ internals
    def _now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    async def _enter(self) -> int:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.down:
            raise StoreUnavailable("the shared store is down (model)")
        return self._now_ms()

    def _raw(self, key: str, now: int) -> Any:
        item = self._entries.get(key)
        if item is None:
            return None
        if now > item[1]:  # Redis: a key expires when now > its expiry time
            del self._entries[key]
            return None
        return item[0]

    def _lease(self, key: str, now: int) -> int | None:
        item = self._leases.get(key)
        if item is None:
            return None
        if now > item[1]:
            del self._leases[key]
            return None
        return item[0]

    def _version(self, key: str, now: int) -> int | None:
        """The stored version (0: absent), or None for a foreign value."""
        raw = self._raw(key, now)
        if raw is None:
            return 0
        if not isinstance(raw, (str, bytes)):
            return None
        try:
            return parse_entry(key, raw)[0]
        except CorruptEntry:
            return None

    def _take_lease(self, key: str, now: int, ms: int) -> int:
        self._seq += 1
        self._leases[key] = (self._seq, now + ms)
        return self._seq

    @staticmethod
    def _check_key(key: str) -> None:
        if not isinstance(key, str):
            raise TypeError(f"store keys are str, got {type(key).__name__}")

    # ------------------------------------------------------------------ the protocol
    async def get(self, key: str, *, lease_ttl: float | None = None) -> Lookup:
        """As `RedisStore.get`. Raises: CorruptEntry, StoreUnavailable."""
        self._check_key(key)
        lease_ms = 0 if lease_ttl is None else _ms("lease_ttl", lease_ttl)
        now = await self._enter()
        raw = self._raw(key, now)
        if raw is not None and not isinstance(raw, (str, bytes)):
            raise CorruptEntry(key, f"Redis type {type(raw).__name__!r}, not a string")
        holder = self._lease(key, now)
        token = None
        if lease_ms and holder is None:
            need = True
            if raw is not None:
                try:
                    need = now >= parse_entry(key, raw)[1]
                except CorruptEntry:
                    need = False
            if need:
                token = holder = self._take_lease(key, now, lease_ms)
        return lookup_from(key, raw, now, token, holder is not None)

    async def cas(self, key: str, value: Any, *, version: int | None, ttl: float,
                  stale_ttl: float = 0.0, token: int | None = None) -> int:
        """As `RedisStore.cas`. Raises: VersionConflict, FencedOut, CorruptEntry,
        TypeError/ValueError, StoreUnavailable."""
        self._check_key(key)
        payload = encode_value(value)
        ttl_ms = _ms("ttl", ttl)
        stale_ms = _ms("stale_ttl", stale_ttl, minimum=0)
        now = await self._enter()
        current = self._version(key, now)
        if current is None:
            status, number = "foreign", 0
        elif token is not None and self._lease(key, now) != int(token):
            status, number = "fenced", current
        elif version is not None and int(version) != current:
            status, number = "conflict", current
        else:
            self._seq = max(self._seq, current) + 1  # a key's versions only grow
            status, number = "ok", self._seq
            raw = format_entry(self._seq, now + ttl_ms, now + ttl_ms + stale_ms, payload)
            self._entries[key] = (raw, now + ttl_ms + stale_ms)
            if token is not None:
                del self._leases[key]
        return cas_result(key, status, number, version, token)

    async def acquire_lease(self, key: str, ttl: float) -> int | None:
        """As `RedisStore.acquire_lease`. Raises: StoreUnavailable."""
        self._check_key(key)
        ms = _ms("ttl", ttl)
        now = await self._enter()
        if self._lease(key, now) is not None:
            return None
        return self._take_lease(key, now, ms)

    async def release_lease(self, key: str, token: int) -> bool:
        """As `RedisStore.release_lease`. Raises: StoreUnavailable."""
        self._check_key(key)
        now = await self._enter()
        if self._lease(key, now) == int(token):
            del self._leases[key]
            return True
        return False

    async def invalidate(self, key: str) -> int:
        """As `RedisStore.invalidate`. Raises: CorruptEntry, StoreUnavailable."""
        self._check_key(key)
        now = await self._enter()
        current = self._version(key, now)
        if current is None:
            raise CorruptEntry(key, "not invalidated: the stored value is foreign")
        self._seq = max(self._seq, current) + 1
        self._entries[key] = (format_entry(self._seq, 0, 0, ""), now + self._tombstone_ms)
        self._leases.pop(key, None)
        return self._seq

    async def aclose(self) -> None:
        """Nothing to close (the same interface as `RedisStore`)."""

    # ------------------------------------------------------------------ test hooks
    def put_foreign(self, key: str, raw: Any) -> None:
        """Store `raw` at `key` as something else would (a str/bytes is a Redis string;
        anything else stands for another Redis type, e.g. a hash)."""
        self._entries[key] = (raw, 2**62)

    def __repr__(self) -> str:
        return f"<SharedStoreModel entries={len(self._entries)} leases={len(self._leases)}>"


def simulate_app_servers(servers: int = 4, mode: str = "leases", *, duration: float = 60.0,
                         rate: float = 400.0, keys: int = 20, ttl: float = 5.0,
                         db_latency: float = 0.05, store_latency: float = 0.0005,
                         seed: int = 0) -> SimResult:
    """`servers` app servers share one database (and, unless ``mode="local"``, one
    `SharedStoreModel`); return the simulation's `SimResult` (``db_calls``, ``p99``...).

    Every server caches in its own `SWRCache` (TTL `ttl`, no stale window, singleflight
    per server). ``"local"``: that is all, so each server loads each key once per
    expiry. ``"shared"``: a `SharedTier` without leases behind it (servers that miss at
    once all load, then compare-and-set). ``"leases"``: with leases, one server per key
    loads and the others wait for its write.

    >>> [simulate_app_servers(4, m, duration=10, keys=2).db_calls for m in SHARED_MODES]
    [16, 16, 4]
    """
    if mode not in SHARED_MODES:
        raise ValueError(f"mode must be one of {SHARED_MODES}, got {mode!r}")
    store = SharedStoreModel(latency=store_latency)
    rng = random.Random(seed)

    def factory(load: Any) -> SWRCache[Any, Any]:
        local = dict(capacity=4 * keys, ttl=ttl, stale_ttl=0.0, rng=random.Random(rng.random()))
        if mode == "local":
            return SWRCache(load, **local)
        tier = SharedTier(store, load, ttl=ttl, lease_ttl=None if mode == "shared" else 10 * db_latency,
                          lease_wait=10 * db_latency, lease_poll=db_latency / 5)
        return tier.cache(**local)

    return simulate(Workload(duration=duration, rate=rate, keys=keys, servers=servers, seed=seed),
                    factory, database=SimulatedDatabase(latency=db_latency, seed=seed),
                    name=f"{servers} servers, {mode}")
