"""`RedisStore`: versioned entries, compare-and-set and fenced leases on a real Redis.

Every operation is ONE round trip: a Lua script (sent by ``EVALSHA``; redis-py loads it
again with ``SCRIPT LOAD`` when the server answers ``NOSCRIPT``, e.g. after a restart).
Keys, for a store key ``k`` and the default ``prefix="swr:"``:

- ``swr:e:k``: the entry (format in `swrcache.redis.protocol`), expiring at stale-until;
- ``swr:l:k``: the live lease's fencing token, expiring at the end of the lease;
- ``swr:seq``: the one counter every version and token comes from (seeded from the
  server's clock in microseconds when absent, so a restarted empty server does not hand
  out a token an old writer still holds; moved past a key's version when that is
  higher, so a key's versions only grow).

Times for TTLs are the Redis server's (``TIME`` inside the scripts, ``PX`` expiry), so
app servers with drifting clocks agree. All keys of one store key are touched by one
script: not for Redis Cluster across slots.

Cancellation: cancelling a caller mid-call closes that connection (redis-py does); the
command may or may not have run on the server, like any lost reply. Every call is bounded
by ``timeout`` seconds of the running loop's clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .protocol import (CorruptEntry, Lookup, SharedStoreError, StoreUnavailable,
                       cas_result, encode_value, lookup_from)

__all__ = ["RedisStore"]

_LIB = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(n) return string.format('%.0f', n) end
local function next_seq(key, now)
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, fmt(now * 1000)) end
  return redis.call('INCR', key)
end
local function header(raw) return string.match(raw, '^swr1:(%d+):(%d+):(%d+):') end
local function next_version(key, now, cur)
  local ver = next_seq(key, now)
  if ver <= cur then ver = cur + 1; redis.call('SET', key, fmt(ver)) end
  return ver
end
"""

# KEYS: entry, lease, seq. ARGV: lease_ms (0: do not ask for a lease).
# Returns {type, raw, now_ms, token (0: none granted), leased (0/1)}.
_GET = _LIB + """
local now = now_ms()
local typ = redis.call('TYPE', KEYS[1])['ok']
if typ ~= 'string' then
  if typ ~= 'none' then return {typ, '', now, 0, 0} end
end
local raw = false
if typ == 'string' then raw = redis.call('GET', KEYS[1]) end
local holder = redis.call('GET', KEYS[2])
local token = 0
local lease_ms = tonumber(ARGV[1])
if lease_ms > 0 and not holder then
  local need = true
  if raw then
    local v, fu = header(raw)
    if not v then need = false else need = now >= tonumber(fu) end
  end
  if need then
    token = next_seq(KEYS[3], now)
    redis.call('SET', KEYS[2], fmt(token), 'PX', lease_ms)
    holder = true
  end
end
return {typ, raw or '', now, token, holder and 1 or 0}
"""

# KEYS: entry, lease, seq. ARGV: payload, expected version ('' any), token ('' none),
# ttl_ms, stale_ms. Returns {status, number}: ok/new version, conflict/current version,
# fenced/current version, foreign/0.
_CAS = _LIB + """
local now = now_ms()
local typ = redis.call('TYPE', KEYS[1])['ok']
local cur = 0
if typ == 'string' then
  local v = header(redis.call('GET', KEYS[1]))
  if not v then return {'foreign', 0} end
  cur = tonumber(v)
elseif typ ~= 'none' then return {'foreign', 0} end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return {'fenced', cur} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= cur then return {'conflict', cur} end
local ver = next_version(KEYS[3], now, cur)
local ttl = tonumber(ARGV[4])
local stale = tonumber(ARGV[5])
redis.call('SET', KEYS[1], 'swr1:' .. fmt(ver) .. ':' .. fmt(now + ttl) .. ':' ..
           fmt(now + ttl + stale) .. ':' .. ARGV[1], 'PX', ttl + stale)
if ARGV[3] ~= '' then redis.call('DEL', KEYS[2]) end
return {'ok', ver}
"""

# KEYS: lease, seq. ARGV: lease_ms. Returns the token, or 0 when the lease is held.
_ACQUIRE = _LIB + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = next_seq(KEYS[2], now_ms())
redis.call('SET', KEYS[1], fmt(token), 'PX', tonumber(ARGV[1]))
return token
"""

# KEYS: lease. ARGV: token. Returns 1 if released, 0 if it was not the live lease.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""

# KEYS: entry, lease, seq. ARGV: tombstone_ms. Returns {status, version}.
_INVALIDATE = _LIB + """
local now = now_ms()
local typ = redis.call('TYPE', KEYS[1])['ok']
local cur = 0
if typ == 'string' then
  local v = header(redis.call('GET', KEYS[1]))
  if not v then return {'foreign', 0} end
  cur = tonumber(v)
elseif typ ~= 'none' then return {'foreign', 0} end
local ver = next_version(KEYS[3], now, cur)
redis.call('SET', KEYS[1], 'swr1:' .. fmt(ver) .. ':0:0:', 'PX', tonumber(ARGV[1]))
redis.call('DEL', KEYS[2])
return {'ok', ver}
"""


def _ms(name: str, seconds: float, minimum: int = 1) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError(f"{name} must be a non-negative number of seconds, got {seconds!r}")
    ms = int(round(seconds * 1000))
    if ms < minimum:
        raise ValueError(f"{name} must be at least {minimum} ms, got {seconds!r} s")
    return ms


class RedisStore:
    """The shared store on a real Redis (redis-py's asyncio client).

    - ``url``: ``redis://``, ``rediss://`` or ``unix://``; default `redis_url()`
      (``$REDIS_URL``, else the embedded server). Or pass a ready ``client``
      (``redis.asyncio.Redis`` with ``decode_responses=False``).
    - ``prefix``: prepended to every key this store touches.
    - ``timeout``: seconds each call may take (connecting included), then
      `StoreUnavailable`.
    - ``tombstone_ttl``: how long `invalidate`'s bumped version is kept for an absent key.

    A store belongs to one event loop (its connections do); `aclose` it when done. Use
    it on a real-time loop: a virtual-time loop never waits for a socket (it jumps to the
    next timer, which is the call's timeout); simulations use
    `cachesim.shared_store.SharedStoreModel` instead.

    Raises:
        RedisUnavailable: no ``url`` and neither ``REDIS_URL`` nor a server binary.
        ImportError: redis-py is not installed (install the ``redis`` extra).
    """

    def __init__(self, url: str | None = None, *, client: Any = None, prefix: str = "swr:",
                 timeout: float = 1.0, tombstone_ttl: float = 300.0) -> None:
        try:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            import redis.exceptions as rexc
        except ImportError as exc:  # pragma: no cover - the extra is in the lock
            raise ImportError("RedisStore needs redis-py: install the project's redis extra "
                              "(pip install -e '.[redis]')") from exc
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self._tombstone_ms = _ms("tombstone_ttl", tombstone_ttl)
        self.timeout = float(timeout)
        self.prefix = prefix
        if client is None:
            if url is None:
                from .server import redis_url
                url = redis_url()
            client = aioredis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0), decode_responses=False)
        self.client = client
        self._unavailable = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError,
                             OSError, TimeoutError)
        self._redis_error = rexc.RedisError
        self._get = client.register_script(_GET)
        self._cas = client.register_script(_CAS)
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._invalidate = client.register_script(_INVALIDATE)

    def _keys(self, key: str) -> list[str]:
        if not isinstance(key, str):
            raise TypeError(f"store keys are str, got {type(key).__name__}")
        p = self.prefix
        return [f"{p}e:{key}", f"{p}l:{key}", f"{p}seq"]

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await script(keys=keys, args=args)
        except self._unavailable as exc:
            raise StoreUnavailable(f"Redis did not answer: {type(exc).__name__}: {exc}") from exc
        except self._redis_error as exc:
            raise SharedStoreError(f"Redis error: {exc}") from exc

    async def get(self, key: str, *, lease_ttl: float | None = None) -> Lookup:
        """Read `key`; with `lease_ttl`, also take its lease when the entry is missing or
        stale and nobody holds the lease (``Lookup.token``), in the same round trip.

        Raises:
            CorruptEntry: a foreign value is stored at `key` (no lease is granted for it).
            StoreUnavailable: Redis did not answer within ``timeout``.
            SharedStoreError: Redis answered with an error.

        A cancelled caller may have been granted a lease it never learns of: the lease
        then simply expires after `lease_ttl` and passes on.
        """
        lease_ms = 0 if lease_ttl is None else _ms("lease_ttl", lease_ttl)
        typ, raw, now, token, leased = await self._call(self._get, self._keys(key), [lease_ms])
        if typ not in (b"string", b"none"):
            raise CorruptEntry(key, f"Redis type {typ.decode()!r}, not a string")
        return lookup_from(key, raw if typ == b"string" else None, int(now),
                           int(token) or None, bool(leased))

    async def cas(self, key: str, value: Any, *, version: int | None, ttl: float,
                  stale_ttl: float = 0.0, token: int | None = None) -> int:
        """Write `value` if the entry's version is still `version` (0: absent; None: any)
        and, with `token`, only while that token is the key's live lease (the lease is
        then released). Fresh for `ttl`, then stale for `stale_ttl`; return the new version.

        Raises:
            VersionConflict: another version is stored (re-read and retry, or give up).
            FencedOut: `token` is not the live lease (expired, taken over, or revoked by
                `invalidate`): this write is late and was rejected.
            CorruptEntry: a foreign value is stored at `key`; it is not overwritten.
            TypeError, ValueError: `value` is not JSON-serialisable, or a bad TTL.
            StoreUnavailable, SharedStoreError: as for `get`.

        A cancelled caller does not know whether the write happened: re-read the version.
        """
        payload = encode_value(value)
        ttl_ms = _ms("ttl", ttl)
        stale_ms = _ms("stale_ttl", stale_ttl, minimum=0)
        args = [payload, "" if version is None else int(version),
                "" if token is None else int(token), ttl_ms, stale_ms]
        status, number = await self._call(self._cas, self._keys(key), args)
        return cas_result(key, status.decode(), int(number), version, token)

    async def acquire_lease(self, key: str, ttl: float) -> int | None:
        """Take `key`'s lease for `ttl` seconds (``SET NX PX``); return its fencing token,
        or None while another holder's lease is live. Tokens only grow.

        Raises:
            StoreUnavailable, SharedStoreError: as for `get`.

        A cancelled caller may hold a lease it never learns of; it expires after `ttl`.
        """
        token = await self._call(self._acquire, self._keys(key)[1:], [_ms("ttl", ttl)])
        return int(token) or None

    async def release_lease(self, key: str, token: int) -> bool:
        """Release the lease if `token` is still the live one; return whether it was.

        Raises:
            StoreUnavailable, SharedStoreError: as for `get`.

        A cancelled caller's lease may stay held until it expires.
        """
        return bool(await self._call(self._release, self._keys(key)[1:2], [int(token)]))

    async def invalidate(self, key: str) -> int:
        """Bump `key`'s version (a tombstone replaces the entry) and revoke its lease, so
        no writer that read the entry, or holds the lease, can write back; return the
        new version. The next `get` sees ``"missing"``.

        Raises:
            CorruptEntry: a foreign value is stored at `key` (it is left alone).
            StoreUnavailable, SharedStoreError: as for `get`.

        A cancelled caller does not know whether the invalidation happened: repeat it
        (it is idempotent in effect).
        """
        status, number = await self._call(self._invalidate, self._keys(key),
                                          [self._tombstone_ms])
        if status == b"foreign":
            raise CorruptEntry(key, "not invalidated: the stored value is foreign")
        return int(number)

    async def aclose(self) -> None:
        """Close the client's connections. Raises nothing the caller can act on."""
        await self.client.aclose()

    async def __aenter__(self) -> "RedisStore":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<RedisStore prefix={self.prefix!r} timeout={self.timeout}>"

