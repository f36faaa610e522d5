"""What a shared store holds and answers: the entry format, `Lookup`, and the errors.

Both stores speak this: `swrcache.redis.RedisStore` (a real Redis) and
`cachesim.shared_store.SharedStoreModel` (the same semantics on the virtual clock); one
contract test suite runs against both.

**Entry format** (a Redis string; version 1 of the format). No pickle, ever::

    swr1:<version>:<fresh_until_ms>:<stale_until_ms>:<payload>

- ``swr1`` is the format tag; anything else at an entry's key is *foreign* and is
  reported (`CorruptEntry`) for that key, never loaded, never overwritten.
- ``<version>`` is a positive integer from the store's one counter (``<prefix>seq``),
  so versions and lease tokens never repeat, even after a key expires.
- the deadlines are the store's clock in milliseconds (Redis: ``TIME``; the model: its
  clock). Redis also expires the key at ``stale_until`` (``PX``).
- ``<payload>`` is the value as compact UTF-8 JSON (`encode_value`): None, bool, int,
  float (finite), str, lists and dicts with string keys. Tuples come back as lists.
  An empty payload is a *tombstone*: written by `invalidate`, it holds the bumped
  version so that a writer who read an older version cannot write back.

>>> raw = format_entry(7, 1000, 2000, encode_value({"id": 1}))
>>> raw
'swr1:7:1000:2000:{"id":1}'
>>> parse_entry("k", raw)
(7, 1000, 2000, '{"id":1}')
>>> lookup_from("k", raw, now_ms=1500, token=None).state
'stale'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "FORMAT_TAG", "CorruptEntry", "FencedOut", "Lookup", "SharedStore", "SharedStoreError",
    "StoreUnavailable", "VersionConflict", "cas_result", "decode_value", "encode_value", "format_entry",
    "lookup_from", "parse_entry",
]

FORMAT_TAG = "swr1"
# The same header the Lua scripts match: string.match(raw, '^swr1:(%d+):(%d+):(%d+):')
_HEADER = re.compile(r"swr1:([0-9]+):([0-9]+):([0-9]+):")


class SharedStoreError(Exception):
    """Base class of the shared store's errors."""


class StoreUnavailable(SharedStoreError, ConnectionError):
    """The store did not answer: connection refused or lost, or the call timed out."""


class CorruptEntry(SharedStoreError, ValueError):
    """The value at `key` is not an entry in this format (written by something else, or
    damaged). It is neither loaded nor overwritten."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"shared-store entry {key!r} is not a {FORMAT_TAG} entry: {reason}")
        self.key = key
        self.reason = reason


class VersionConflict(SharedStoreError):
    """A compare-and-set found another version than expected (`current`; 0: absent)."""

    def __init__(self, key: str, expected: int, current: int) -> None:
        super().__init__(f"{key!r}: expected version {expected}, found {current}")
        self.key = key
        self.expected = expected
        self.current = current


class FencedOut(SharedStoreError):
    """A write carried a lease token that is no longer the key's live lease (it expired
    and maybe passed to another writer, or `invalidate` revoked it)."""

    def __init__(self, key: str, token: int) -> None:
        super().__init__(f"{key!r}: lease token {token} is not the live lease")
        self.key = key
        self.token = token


@dataclass(frozen=True, slots=True)
class Lookup:
    """One read of a key.

    - ``state``: ``"fresh"``, ``"stale"`` or ``"missing"`` (absent, expired or a tombstone);
    - ``value``: the decoded value (None when missing);
    - ``version``: the entry's version (0 when absent; a tombstone's version after
      `invalidate`); pass it to ``cas(..., version=)``;
    - ``token``: a lease granted by this read (``get(..., lease_ttl=)``), else None;
    - ``leased``: some writer (maybe this one) holds the key's lease.
    """

    state: str
    value: Any
    version: int
    token: int | None = None
    leased: bool = False


class SharedStore(Protocol):
    """The operations both stores implement (see `RedisStore` for their documentation)."""

    async def get(self, key: str, *, lease_ttl: float | None = None) -> Lookup: ...

    async def cas(self, key: str, value: Any, *, version: int | None, ttl: float,
                  stale_ttl: float = 0.0, token: int | None = None) -> int: ...

    async def acquire_lease(self, key: str, ttl: float) -> int | None: ...

    async def release_lease(self, key: str, token: int) -> bool: ...

    async def invalidate(self, key: str) -> int: ...

    async def aclose(self) -> None: ...


def encode_value(value: Any) -> str:
    """Encode `value` as compact JSON.

    Raises:
        TypeError: not JSON-serialisable (e.g. a set, bytes, an object).
        ValueError: NaN or infinity.

    >>> encode_value([1, "a", None])
    '[1,"a",null]'
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_value(key: str, payload: str) -> Any:
    """Decode a payload written by `encode_value`.

    Raises:
        CorruptEntry: not valid JSON.
    """
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise CorruptEntry(key, f"payload is not JSON ({exc})") from None


def format_entry(version: int, fresh_until_ms: int, stale_until_ms: int, payload: str) -> str:
    """The stored form of an entry (see the module docstring)."""
    return f"{FORMAT_TAG}:{version}:{fresh_until_ms}:{stale_until_ms}:{payload}"


def parse_entry(key: str, raw: str | bytes) -> tuple[int, int, int, str]:
    """Split a stored entry into ``(version, fresh_until_ms, stale_until_ms, payload)``.

    Raises:
        CorruptEntry: `raw` is not in this format.

    >>> parse_entry("k", "hello")
    Traceback (most recent call last):
    ...
    swrcache.redis.protocol.CorruptEntry: shared-store entry 'k' is not a swr1 entry: no swr1 header
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptEntry(key, "not UTF-8") from None
    match = _HEADER.match(raw)
    if match is None:
        raise CorruptEntry(key, f"no {FORMAT_TAG} header")
    return int(match[1]), int(match[2]), int(match[3]), raw[match.end():]


def lookup_from(key: str, raw: str | bytes | None, now_ms: int, token: int | None,
                leased: bool = False) -> Lookup:
    """Build the `Lookup` for `raw` (None: absent) as read at `now_ms`.

    Raises:
        CorruptEntry: `raw` is foreign or its payload is not JSON.
    """
    if raw is None:
        return Lookup("missing", None, 0, token, leased)
    version, fresh_until, stale_until, payload = parse_entry(key, raw)
    if payload == "" or now_ms >= stale_until:
        return Lookup("missing", None, version, token, leased)
    state = "fresh" if now_ms < fresh_until else "stale"
    return Lookup(state, decode_value(key, payload), version, token, leased)


def cas_result(key: str, status: str, number: int, version: int | None,
                token: int | None) -> int:
    """Turn a compare-and-set script's answer into a version or an exception (both stores)."""
    if status == "ok":
        return number
    if status == "fenced":
        raise FencedOut(key, token if token is not None else 0)
    if status == "conflict":
        raise VersionConflict(key, version if version is not None else -1, number)
    raise CorruptEntry(key, "not overwritten: the stored value is foreign")
