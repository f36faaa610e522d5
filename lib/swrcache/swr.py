"""`SWRCache`: an async stale-while-revalidate cache (RFC 5861 semantics) for one event loop.

An entry's age counts from when its value was stored: **fresh** (``age < ttl``) values
are served from memory; **stale** ones (``ttl <= age < ttl + stale_ttl``) at once while a
background refresh runs (with ``wait_threshold``: after waiting that long for it);
**missing or expired** ones by one coalesced load every caller waits for. A failed
refresh keeps the stale value servable (stale-if-error); a failed cold load raises to
every waiter and caches nothing. `invalidate` (or a newer `set`) is never undone by a
load in flight, and a get after `invalidate` never joins a load that began before it.

This module is the public API; the load pipeline lives in ``_pipeline``, loop binding
and cached time in ``_loopclock``, argument checks in ``_validate``, and the hit paths of
namespaced or XFetch caches in ``_keyed``.

>>> import asyncio
>>> async def main():
...     calls = []
...     async def load(key):
...         calls.append(key)
...         return key.upper()
...     cache = SWRCache(load, capacity=100, ttl=60.0, stale_ttl=300.0)
...     first = await cache.get("alice")
...     second = cache.get_nowait("alice")          # fresh: no second load, no await
...     await cache.aclose()
...     return first, second, calls, cache.stats.hits, cache.stats.misses
>>> asyncio.run(main())
('ALICE', 'ALICE', ['alice'], 1, 1)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable
from typing import Any, Generic, TypeVar

from . import _validate as check
from ._pipeline import Entry, LoadPipeline
from .backoff import Backoff
from .breaker import CircuitBreaker
from .clock import Clock
from .errors import WouldBlock
from .lru import LRUCache
from .slots import PrioritySlots
from .stats import CacheStats

__all__ = ["SWRCache", "WouldBlock"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT = check.DEFAULT


class SWRCache(LoadPipeline, Generic[K, V]):
    """Async stale-while-revalidate cache with coalescing, timeouts and a circuit breaker.

    Parameters (keyword-only after `loader`):

    - ``loader``: ``async def loader(key) -> value``; called with the caller's key.
    - ``capacity``: maximum number of entries (LRU eviction); 0 stores nothing.
    - ``ttl``: seconds a value is fresh; ``stale_ttl``: further seconds it may be served
      stale while it is revalidated.
    - ``wait_threshold``: on a stale hit, wait up to this long for the refresh before
      serving the stale value (None: serve stale at once).
    - ``refresh_timeout``: bound on each load (queueing for a slot included); a cold
      load's waiters then get ``TimeoutError``; None: no bound.
    - ``max_refresh_concurrency``: loader calls per key at once (a stale hit does not
      start another refresh when this many are running).
    - ``refresh_budget``: optional global limit on concurrent loader calls; queued loads
      for keys that ``is_critical(key)`` says are critical (a predicate or a collection
      of keys) get free slots first.
    - ``breaker``: a `CircuitBreaker` around the loader (default
      ``CircuitBreaker(5, 30.0)``; None disables it). While open, stale values are
      served without refresh and cold loads raise ``CircuitOpenError``. One breaker may
      guard several caches of one dependency.
    - ``backoff``: a `Backoff`: after a failed background refresh of a key, its next
      refresh waits a jittered exponential delay (default ``Backoff(1.0, 60.0, 0.5)``).
      The scalar keywords ``breaker_threshold``, ``breaker_cooldown``, ``backoff_base``,
      ``backoff_max`` and ``backoff_jitter`` are still accepted instead.
    - ``early_refresh_beta``: XFetch probabilistic early refresh of fresh values;
      0 (the default) disables it.
    - ``namespace``: a key-schema version such as ``"v2"``; entries are stored under
      ``(namespace, key)`` so two schemas can share one ``store`` (an `LRUCache`)
      without seeing each other's values.
    - ``clock``: a zero-argument callable returning seconds; default: the running
      event loop's ``time()`` (so virtual-time loops drive the cache).
    - ``rng``: a ``random.Random`` for jitter and XFetch (seed it for reproducibility).

    Raises ``ValueError`` naming the parameter for an invalid argument.

    A cache belongs to one event loop at a time and reads its clock (on the stock loops,
    the gets of one loop iteration share one reading). Once that loop has stopped, the
    cache rebinds to the next loop that uses it and drops the old entries; so end each
    simulation with ``await cache.aclose()`` (or ``async with``), which also cancels
    background refreshes. Using one cache from two running loops raises ``RuntimeError``.

    >>> import asyncio
    >>> async def main():
    ...     async def load(key):
    ...         return key * 2
    ...     async with SWRCache(load, capacity=10, ttl=1.0, stale_ttl=10.0,
    ...                         breaker=CircuitBreaker(3, 10.0)) as cache:
    ...         return await cache.get(21)
    >>> asyncio.run(main())
    42
    """

    # Slots make the hit paths' attribute reads the cheapest kind (LOAD_ATTR_SLOT); the
    # bases declare theirs beside the invariants that say when each one is written.
    __slots__ = ("_capacity", "_namespace", "_touch", "__weakref__")

    def __new__(cls, *args: Any, **kwargs: Any) -> "SWRCache[K, V]":
        # Keys under a namespace or XFetch early refresh need more than a lookup on a hit:
        # such caches are a `_KeyedSWRCache`, so the plain hit paths test nothing else.
        if kwargs.get("namespace") is not None or kwargs.get("early_refresh_beta"):
            from ._keyed import keyed_variant
            cls = keyed_variant(cls)
        return super().__new__(cls)

    def __init__(
        self,
        loader: Callable[[K], Awaitable[V]],
        *,
        capacity: int,
        ttl: float,
        stale_ttl: float,
        wait_threshold: float | None = None,
        refresh_timeout: float | None = None,
        max_refresh_concurrency: int = 1,
        refresh_budget: int | None = None,
        is_critical: Callable[[K], bool] | Collection[K] | None = None,
        breaker: CircuitBreaker | None = DEFAULT,
        backoff: Backoff = DEFAULT,
        early_refresh_beta: float = 0.0,
        namespace: Hashable | None = None,
        store: LRUCache[Any, Any] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        **scalar_breaker_and_backoff: Any,
    ) -> None:
        check.check_callable("loader", loader, "an async callable")
        check.check_int("capacity", capacity, 0)
        self._ttl = check.check_non_negative("ttl", ttl)
        self._stale_ttl = check.check_non_negative("stale_ttl", stale_ttl)
        self._wait_threshold = check.check_positive_or_none("wait_threshold", wait_threshold)
        self._refresh_timeout = check.check_positive_or_none("refresh_timeout",
                                                             refresh_timeout)
        check.check_int("max_refresh_concurrency", max_refresh_concurrency, 1)
        check.check_int("refresh_budget", refresh_budget, 1, allow_none=True)
        # A breaker the cache builds reads the cache's clock, also when called directly.
        self._breaker = check.breaker_from(breaker, scalar_breaker_and_backoff,
                                           self._read_clock)
        self._backoff = check.backoff_from(backoff, scalar_breaker_and_backoff)
        self._beta = check.check_non_negative("early_refresh_beta", early_refresh_beta)
        if clock is not None:
            check.check_callable("clock", clock, "a zero-argument callable")
        check.check_store(store, capacity)
        self._is_critical = check.critical_predicate(is_critical)

        self._rng = rng if rng is not None else random.Random()
        self._loader = loader
        self._capacity = capacity
        self._max_conc = max_refresh_concurrency
        self._namespace = namespace
        self._xfetch = self._beta > 0.0
        self._store: LRUCache[Any, Entry] = store if store is not None else LRUCache(capacity)
        self._data = self._store._data  # the OrderedDict itself: the hit path skips a call
        # Bound once: a call to a stored builtin method is specialized (~3 ns a hit saved).
        self._touch = self._data.move_to_end
        self._budget = PrioritySlots(refresh_budget) if refresh_budget is not None else None
        #: What this cache did (live int counters; `stats.reset()` to start over).
        self.stats = CacheStats()
        self._init_clock(clock)
        self._init_state()

    def _on_rebind(self) -> None:
        self._store.clear()
        self._init_state()

    async def get(self, key: K) -> V:
        """Return the value for `key`: fresh, stale (refreshing it), or freshly loaded.

        Raises:
          Exception: whatever the loader raised, when no servable value exists (a cold
            load, or a stale value that expired while its refresh failed).
          TimeoutError: the load took longer than ``refresh_timeout``.
          CircuitOpenError: the circuit breaker is open and no servable value exists.
          RuntimeError: the cache is bound to another event loop that still runs.

        Cancelling a caller cancels only its own wait: a load it shares goes on for the
        other waiters (and is cancelled only when its last waiter goes), and a
        background refresh it started carries on.

        >>> import asyncio
        >>> async def load(key):
        ...     return len(key)
        >>> async def main():
        ...     cache = SWRCache(load, capacity=10, ttl=5.0, stale_ttl=5.0)
        ...     return await cache.get("four")
        >>> asyncio.run(main())
        4
        """
        # The fresh-hit fast path (plain keys, no XFetch: `_KeyedSWRCache` has the other).
        now = self._cached_now
        if now is None:
            now = self._now()  # before the lookup: binding to a new loop may drop entries
        try:
            entry = self._data[key]
        except KeyError:
            return await self._get_slow(key, key)
        if now < entry.fresh_until:
            self._touch(key)
            self.stats.hits += 1
            return entry.value  # type: ignore[no-any-return]
        return await self._get_slow(key, key)

    def get_nowait(self, key: K) -> V:
        """Return the fresh value for `key` now, without awaiting; counts a hit.

        The synchronous probe for the hit path: it never loads, never refreshes a stale
        value and never waits. On a miss nothing is counted, so the usual follow-up,
        ``await cache.get(key)``, counts that get as it does any other. With XFetch on, a
        hit may start an early background refresh, as a hit through `get` does.

        Raises:
          WouldBlock: no fresh value is stored (missing, stale or expired).
          RuntimeError: there is no running event loop to read the time from (and no
            injected clock), or the cache is bound to another loop that still runs.

        It does not await, so no cancellation can interrupt it.

        >>> import asyncio
        >>> async def load(key):
        ...     return key
        >>> async def main():
        ...     cache = SWRCache(load, capacity=10, ttl=5.0, stale_ttl=5.0)
        ...     try:
        ...         cache.get_nowait("k")
        ...     except WouldBlock:
        ...         value = await cache.get("k")       # the miss: load it
        ...     return value, cache.get_nowait("k"), cache.stats.hits, cache.stats.misses
        >>> asyncio.run(main())
        ('k', 'k', 1, 1)
        """
        now = self._cached_now
        if now is None:
            now = self._now()  # before the lookup: binding to a new loop may drop entries
        try:
            entry = self._data[key]
        except KeyError:
            raise WouldBlock(key) from None
        if now < entry.fresh_until:
            self._touch(key)
            self.stats.hits += 1
            return entry.value  # type: ignore[no-any-return]
        raise WouldBlock(key)

    def set(self, key: K, value: V) -> None:
        """Store `value` for `key` now (fresh); loads already in flight will not overwrite it.

        Raises:
          RuntimeError: called outside the running event loop with no injected clock,
            or the cache is bound to another event loop that still runs.

        It does not await, so no cancellation can interrupt it.

        >>> import asyncio
        >>> async def load(key):
        ...     return "loaded"
        >>> async def main():
        ...     cache = SWRCache(load, capacity=10, ttl=5.0, stale_ttl=5.0)
        ...     cache.set("k", "written")
        ...     return await cache.get("k")
        >>> asyncio.run(main())
        'written'
        """
        if self._clock is None:
            self._bind_loop()
        self._write(key if self._namespace is None else (self._namespace, key), value)

    def invalidate(self, key: K) -> None:
        """Drop `key`; no load already in flight may bring its result back.

        The next `get` starts a new load (it never joins one that began before this
        call); background refreshes of the key are cancelled. Callers already waiting
        on a load still get its result.

        Raises: nothing.

        It does not await, so no cancellation can interrupt it.

        >>> import asyncio
        >>> async def main():
        ...     n = 0
        ...     async def load(key):
        ...         nonlocal n
        ...         n += 1
        ...         return n
        ...     cache = SWRCache(load, capacity=10, ttl=60.0, stale_ttl=60.0)
        ...     a = await cache.get("k")
        ...     cache.invalidate("k")
        ...     return a, await cache.get("k")
        >>> asyncio.run(main())
        (1, 2)
        """
        self._drop(key if self._namespace is None else (self._namespace, key))

    def peek(self, key: K) -> V | None:
        """Return the stored value for `key` (fresh or not) without loading; None if absent.

        Unlike `get_nowait` it neither checks freshness nor counts anything.

        Raises: nothing. It does not await, so no cancellation can interrupt it.

        >>> import asyncio
        >>> async def load(key):
        ...     return 1
        >>> SWRCache(load, capacity=1, ttl=1.0, stale_ttl=1.0).peek("k") is None
        True
        """
        skey = key if self._namespace is None else (self._namespace, key)
        entry = self._store.peek(skey)
        return entry.value if entry is not None else None

    async def prewarm(self, keys: Iterable[K], *, concurrency: int = 16) -> int:
        """Load every key that is not fresh, `concurrency` at a time; return how many succeeded.

        Keys already fresh count as warmed. Loads coalesce with concurrent gets.

        Raises:
          ValueError: `concurrency` is not an int >= 1.
          RuntimeError: called outside a running event loop, or the cache is bound to
            another event loop that still runs.
          Loader failures are not raised: they show in ``stats.load_errors``.

        Cancelling the caller cancels its waits on the loads; a load shared with a
        concurrent get goes on for that get.

        >>> import asyncio
        >>> async def load(key):
        ...     return key
        >>> async def main():
        ...     cache = SWRCache(load, capacity=10, ttl=60.0, stale_ttl=60.0)
        ...     warmed = await cache.prewarm(["a", "b", "c"])
        ...     return warmed, cache.stats.loads, await cache.get("a"), cache.stats.hits
        >>> asyncio.run(main())
        (3, 3, 'a', 1)
        """
        check.check_int("concurrency", concurrency, 1)
        self._bind_loop()
        limit = asyncio.Semaphore(concurrency)
        ns = self._namespace
        results = await asyncio.gather(
            *(self._warm(k, k if ns is None else (ns, k), limit) for k in keys))
        return sum(results)

    async def aclose(self) -> None:
        """Cancel background refreshes and wait for them to finish.

        The cache stays usable afterwards; its next call checks which loop runs it, so a
        cache closed at the end of one simulation starts clean in the next.

        Raises: nothing (the refreshes' own errors are swallowed).

        Cancelling the caller stops the wait; the refreshes stay cancelled and finish on
        their own.

        >>> import asyncio
        >>> async def load(key):
        ...     return key
        >>> asyncio.run(SWRCache(load, capacity=1, ttl=1.0, stale_ttl=1.0).aclose())
        """
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._unbind_clock()

    async def __aenter__(self) -> "SWRCache[K, V]":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        """True if a value (fresh, stale or expired-but-not-yet-dropped) is stored for `key`."""
        skey = key if self._namespace is None else (self._namespace, key)
        return skey in self._store

    @property
    def breaker(self) -> CircuitBreaker | None:
        """The circuit breaker around the loader (None when disabled)."""
        return self._breaker

    @property
    def backoff(self) -> Backoff:
        """The backoff between failed refreshes of a key."""
        return self._backoff

    @property
    def background_tasks(self) -> int:
        """How many background refresh tasks are running."""
        return len(self._tasks)

    @property
    def namespace(self) -> Hashable | None:
        """The key-schema version this cache stores under (None: plain keys)."""
        return self._namespace

    def __repr__(self) -> str:
        return (f"<SWRCache entries={len(self._store)}/{self._capacity} ttl={self._ttl} "
                f"stale_ttl={self._stale_ttl} namespace={self._namespace!r}>")
