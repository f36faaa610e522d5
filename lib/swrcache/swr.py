"""`SWRCache`: an async stale-while-revalidate cache (RFC 5861 semantics) for one event loop.

An entry's age counts from when its value was stored:

- **fresh** (``age < ttl``): served from memory, no load;
- **stale** (``ttl <= age < ttl + stale_ttl``): served at once while a background refresh
  runs (unless ``max_refresh_concurrency`` refreshes already run for that key); with
  ``wait_threshold`` the caller first waits up to that long for the refresh, then falls
  back to the stale value while the refresh carries on;
- **missing or expired**: one coalesced load that every caller waits for, bounded by
  ``refresh_timeout`` (then ``TimeoutError``).

A failed refresh keeps the stale value servable to the end of its window
(stale-if-error); a failed cold load raises to every waiter and caches nothing.
`invalidate` (or a newer `set`) is never undone by a load that was in flight, and a get
after `invalidate` never joins a load that started before it.

>>> import asyncio
>>> async def main():
...     calls = []
...     async def load(key):
...         calls.append(key)
...         return key.upper()
...     cache = SWRCache(load, capacity=100, ttl=60.0, stale_ttl=300.0)
...     first = await cache.get("alice")
...     second = await cache.get("alice")          # fresh: no second load
...     await cache.aclose()
...     return first, second, calls, cache.stats.hits, cache.stats.misses
>>> asyncio.run(main())
('ALICE', 'ALICE', ['alice'], 1, 1)
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable
from typing import Any, Generic, TypeVar

from .backoff import Backoff
from .breaker import HALF_OPEN, CircuitBreaker, CircuitOpenError
from .clock import Clock
from .lru import LRUCache
from .singleflight import Singleflight
from .slots import PrioritySlots
from .stats import CacheStats
from .xfetch import should_refresh_early

__all__ = ["SWRCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_CRITICAL = 0
_NORMAL = 1

# The stock event loops' clock (real monotonic time, read anew on every call). Loops that
# override `time()` (virtual-time loops) may move their clock inside a callback, so only
# the stock clock gets cached readings (see `SWRCache._read_time_caching`).
_STOCK_LOOP_TIME = asyncio.BaseEventLoop.time
# Cached time: a reading shared by fewer hits than this did not pay for its expiry
# callback (~1 us, vs ~0.1 us per clock read) ...
_CACHED_TIME_MIN_HITS = 12
# ... so that many clock reads go straight to the clock before cached time is tried
# again; the number doubles after every unprofitable try (up to the maximum).
_DIRECT_READS_MIN = 64
_DIRECT_READS_MAX = 4096


class _NoDeadline:
    """What ``async with`` uses instead of ``asyncio.timeout(None)`` (no refresh_timeout).

    ``asyncio.timeout(None)`` costs about a microsecond per load (it looks up the current
    task and schedules nothing); this costs next to nothing and never expires.
    """

    __slots__ = ()

    def __await__(self) -> Any:
        return iter(())  # completes at once, with the value None

    def __aenter__(self) -> "_NoDeadline":
        return self

    def __aexit__(self, *exc_info: object) -> "_NoDeadline":
        return self  # awaits to None: exceptions propagate

    def expired(self) -> bool:
        return False


_NO_DEADLINE = _NoDeadline()


def _wake(waiter: asyncio.Future[None], *_: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _wait_done(task: asyncio.Task[Any], timeout: float) -> None:
    """Wait until `task` is done or `timeout` seconds passed, whichever comes first.

    ``asyncio.wait((task,), timeout=timeout)`` without its sets and argument checks (it is
    on the stale path of every get with a ``wait_threshold``). Cancelling the caller
    cancels only this wait, never `task`.
    """
    loop = task.get_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    timer = loop.call_later(timeout, _wake, waiter)
    callback = functools.partial(_wake, waiter)
    task.add_done_callback(callback)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(callback)


class _Entry:
    """A stored value and the times that decide whether it is fresh, stale or expired."""

    __slots__ = ("value", "stored_at", "fresh_until", "stale_until", "seq", "delta")

    def __init__(self, value: Any, stored_at: float, fresh_until: float, stale_until: float,
                 seq: int, delta: float) -> None:
        self.value = value
        self.stored_at = stored_at
        self.fresh_until = fresh_until
        self.stale_until = stale_until
        self.seq = seq  # load/write sequence number: a newer write is never overwritten
        self.delta = delta  # how long the load took (XFetch)


def _check_non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return float(value)


def _check_positive_or_none(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number or None, got {value!r}")
    return float(value)


def _check_int(name: str, value: int | None, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        hint = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an int >= {minimum}{hint}, got {value!r}")


class SWRCache(Generic[K, V]):
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
      for keys that ``is_critical(key)`` says are critical get free slots first.
    - ``breaker_threshold`` / ``breaker_cooldown``: open the circuit after that many
      consecutive loader failures; after the cool-down one probe call decides
      (None disables the breaker). While open, stale values are served without refresh
      and cold loads raise ``CircuitOpenError``.
    - ``backoff_base`` / ``backoff_max`` / ``backoff_jitter``: after a failed background
      refresh of a key, its next refresh waits a jittered exponential delay.
    - ``early_refresh_beta``: XFetch probabilistic early refresh of fresh values;
      0 (the default) disables it.
    - ``namespace``: a key-schema version such as ``"v2"``; entries are stored under
      ``(namespace, key)`` so two schemas can share one ``store`` (an `LRUCache`)
      without seeing each other's values.
    - ``clock``: a zero-argument callable returning seconds; default: the running
      event loop's ``time()`` (so virtual-time loops drive the cache).
    - ``rng``: a ``random.Random`` for jitter and XFetch (seed it for reproducibility).

    Cached time: on the stock asyncio loops, the gets that run within one loop iteration
    share one clock reading (as nginx updates its cached time once per event cycle), so a
    burst of hits in one callback reads the clock once. A callback that runs CPU-bound
    for seconds without yielding therefore sees the time of its first read. Readings are
    only shared while enough hits use them (else the clock is read on every get, as
    before); an injected ``clock`` and loops that override ``time()`` (virtual time) are
    read on every get.

    A cache belongs to one event loop at a time: it binds to the loop of its first
    `get` and reads that loop's clock. Once that loop has stopped, the cache rebinds to
    the next loop that uses it and drops the old entries (their timestamps came from
    another clock); this happens on the first call after ``aclose()``, or else on the
    first call that is not a fresh hit (with the stock loops: on the first get that reads
    the clock). So end each simulation with
    ``await cache.aclose()`` (or use ``async with``), which also cancels background
    refreshes. Using one cache from two running loops raises ``RuntimeError``.

    >>> import asyncio
    >>> async def main():
    ...     async def load(key):
    ...         return key * 2
    ...     async with SWRCache(load, capacity=10, ttl=1.0, stale_ttl=10.0) as cache:
    ...         return await cache.get(21)
    >>> asyncio.run(main())
    42
    """

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
        breaker_threshold: int | None = 5,
        breaker_cooldown: float = 30.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        backoff_jitter: float = 0.5,
        early_refresh_beta: float = 0.0,
        namespace: Hashable | None = None,
        store: LRUCache[Any, Any] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not callable(loader):
            raise ValueError(f"loader must be an async callable, got {loader!r}")
        _check_int("capacity", capacity, 0)
        self._ttl = _check_non_negative("ttl", ttl)
        self._stale_ttl = _check_non_negative("stale_ttl", stale_ttl)
        self._wait_threshold = _check_positive_or_none("wait_threshold", wait_threshold)
        self._refresh_timeout = _check_positive_or_none("refresh_timeout", refresh_timeout)
        _check_int("max_refresh_concurrency", max_refresh_concurrency, 1)
        _check_int("refresh_budget", refresh_budget, 1, allow_none=True)
        _check_int("breaker_threshold", breaker_threshold, 1, allow_none=True)
        if not _check_non_negative("breaker_cooldown", breaker_cooldown) > 0:
            raise ValueError(f"breaker_cooldown must be positive, got {breaker_cooldown!r}")
        self._beta = _check_non_negative("early_refresh_beta", early_refresh_beta)
        if clock is not None and not callable(clock):
            raise ValueError(f"clock must be a zero-argument callable, got {clock!r}")
        if store is not None and not isinstance(store, LRUCache):
            raise ValueError(f"store must be an LRUCache, got {type(store).__name__}")
        if store is not None and store.capacity != capacity:
            raise ValueError(
                f"capacity must match the shared store's capacity ({store.capacity}), "
                f"got {capacity!r}")
        if is_critical is None:
            self._is_critical: Callable[[Any], bool] | None = None
        elif callable(is_critical):
            self._is_critical = is_critical
        elif isinstance(is_critical, Collection):
            critical_keys = frozenset(is_critical)
            self._is_critical = critical_keys.__contains__
        else:
            raise ValueError("is_critical must be a callable, a collection of keys or None")

        self._rng = rng if rng is not None else random.Random()
        self._backoff = Backoff(backoff_base, backoff_max, backoff_jitter, self._rng)
        self._loader = loader
        self._capacity = capacity
        self._max_conc = max_refresh_concurrency
        self._namespace = namespace
        self._xfetch = self._beta > 0.0
        # Plain keys and no XFetch: `get` can answer a fresh hit without any other check.
        self._plain = namespace is None and not self._xfetch
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        # `_now` reads the clock in use: the injected one, or the bound loop's `time`
        # (through `_read_time_caching` for the stock loops). Read time with
        # `_read_clock()`, which first looks at `_cached_now`: a reading shared by
        # everything that runs in the current loop iteration (None: none; always None
        # with an injected clock).
        self._now: Clock = clock if clock is not None else self._bind_and_read_time
        self._cached_now: float | None = None
        self._cached_hits = 0  # stats.hits when `_cached_now` was read
        self._direct_reads = 0  # clock reads left before cached time is tried again
        self._direct_backoff = _DIRECT_READS_MIN
        self._loop_time: Clock | None = None  # the bound loop's `time`
        self._caching_reader: Clock = self._read_time_caching
        self._counting_reader: Clock = self._read_time_counting
        self._store: LRUCache[Any, _Entry] = store if store is not None else LRUCache(capacity)
        self._data = self._store._data  # the OrderedDict itself: the hit path skips a call
        self._breaker = (CircuitBreaker(breaker_threshold, breaker_cooldown, self._read_clock)
                         if breaker_threshold is not None else None)
        self._budget = PrioritySlots(refresh_budget) if refresh_budget is not None else None
        #: What this cache did (plain int counters; `stats.reset()` to start over).
        self.stats = CacheStats()
        self._init_state()

    def _init_state(self) -> None:
        self._flights: Singleflight[Any, Any] = Singleflight()
        self._seq = 0  # increases with every load start and every write
        self._floor: dict[Any, int] = {}  # skey -> loads with seq <= floor may not store
        self._active: dict[Any, int] = {}  # skey -> loads that have started
        self._key_slots: dict[Any, PrioritySlots] = {}
        self._refreshes: dict[Any, set[asyncio.Task[Any]]] = {}
        self._latest_refresh: dict[Any, asyncio.Task[Any]] = {}
        self._failures: dict[Any, tuple[int, float]] = {}  # skey -> (failures, retry_at)
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ the hot path
    async def get(self, key: K) -> V:
        """Return the value for `key`: fresh, stale (refreshing it), or freshly loaded.

        Raises the loader's exception (or ``TimeoutError`` / ``CircuitOpenError``) when no
        servable value exists and the load fails.

        >>> import asyncio
        >>> async def load(key):
        ...     return len(key)
        >>> async def main():
        ...     cache = SWRCache(load, capacity=10, ttl=5.0, stale_ttl=5.0)
        ...     return await cache.get("four")
        >>> asyncio.run(main())
        4
        """
        # The fresh-hit fast path: this is what the hit-path benchmark measures.
        if self._plain:
            now = self._cached_now
            if now is None:
                now = self._now()  # before the lookup: binding to a new loop may drop entries
            data = self._data
            try:
                entry = data[key]
            except KeyError:
                return await self._get_slow(key, key)
            if now < entry.fresh_until:
                data.move_to_end(key)
                self.stats.hits += 1
                return entry.value
            return await self._get_slow(key, key)
        skey = key if self._namespace is None else (self._namespace, key)
        if not self._xfetch:
            now = self._cached_now
            if now is None:
                now = self._now()
            entry = self._data.get(skey)
            if entry is not None and now < entry.fresh_until:
                self._data.move_to_end(skey)
                self.stats.hits += 1
                return entry.value
        return await self._get_slow(key, skey)

    # ------------------------------------------------------------------ slow paths
    async def _get_slow(self, key: Any, skey: Any) -> Any:
        self._bind_loop()
        now = self._read_clock()
        entry = self._data.get(skey)
        if entry is not None:
            if now < entry.fresh_until:
                self._data.move_to_end(skey)
                self.stats.hits += 1
                if self._xfetch and should_refresh_early(
                        now, entry.fresh_until, entry.delta, self._beta, self._rng):
                    if self._start_refresh(key, skey, now) is not None:
                        self.stats.early_refreshes += 1
                return entry.value
            if now < entry.stale_until:
                self._data.move_to_end(skey)
                return await self._serve_stale(key, skey, entry, now)
            # Past the stale window: never served again.
            del self._store[skey]
        return await self._load_coalesced(key, skey)

    async def _serve_stale(self, key: Any, skey: Any, entry: _Entry, now: float) -> Any:
        started = self._start_refresh(key, skey, now)
        if self._wait_threshold is None:
            self.stats.stale_served += 1
            return entry.value
        task = started if started is not None else self._latest_refresh.get(skey)
        if task is not None and not task.done():
            await _wait_done(task, self._wait_threshold)
            if not task.done() and self._read_clock() >= entry.stale_until:
                # Our stale copy expired while we waited: it may not be served any more,
                # so wait for the refresh itself (bounded by refresh_timeout).
                await asyncio.wait((task,))
        if task is not None and task.done():
            if not task.cancelled() and task.exception() is None:
                self.stats.misses += 1
                if started is None:
                    self.stats.coalesced += 1
                return task.result()
            if self._read_clock() >= entry.stale_until:
                self.stats.misses += 1
                if task.cancelled():  # invalidated meanwhile: load afresh
                    return await self._load_coalesced(key, skey, count=False)
                raise task.exception()  # type: ignore[misc]
        self.stats.stale_served += 1
        return entry.value

    async def _load_coalesced(self, key: Any, skey: Any, count: bool = True) -> Any:
        if count:
            self.stats.misses += 1
        if skey in self._flights:
            self.stats.coalesced += 1
        return await self._flights.do(skey, lambda: self._load(key, skey))

    def _refresh_running(self, skey: Any) -> int:
        tasks = self._refreshes.get(skey)
        return (len(tasks) if tasks else 0) + (1 if skey in self._flights else 0)

    def _start_refresh(self, key: Any, skey: Any, now: float) -> asyncio.Task[Any] | None:
        """Start a background refresh unless the per-key limit, backoff or breaker says no."""
        if self._refresh_running(skey) >= self._max_conc:
            return None
        failure = self._failures.get(skey)
        if failure is not None and now < failure[1]:
            return None
        if self._breaker is not None and not self._breaker.would_allow():
            return None
        loop = self._bind_loop()
        task = loop.create_task(self._refresh(key, skey))
        self._tasks.add(task)
        self._refreshes.setdefault(skey, set()).add(task)
        self._latest_refresh[skey] = task
        task.add_done_callback(lambda t, skey=skey: self._refresh_done(skey, t))
        return task

    def _refresh_done(self, skey: Any, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        tasks = self._refreshes.get(skey)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._refreshes[skey]
        if self._latest_refresh.get(skey) is task:
            del self._latest_refresh[skey]
        if not task.cancelled():
            task.exception()  # mark retrieved: a failed refresh is accounted for in stats

    async def _refresh(self, key: Any, skey: Any) -> Any:
        try:
            return await self._load(key, skey)
        except CircuitOpenError:
            raise
        except Exception:
            # Jittered exponential backoff before this key's next refresh attempt.
            failures = self._failures.get(skey, (0, 0.0))[0] + 1
            self._failures[skey] = (failures, self._read_clock() + self._backoff.delay(failures))
            raise

    async def _load(self, key: Any, skey: Any) -> Any:
        """One loader call for `key`: slots, breaker, timeout, then a guarded store."""
        self._seq += 1
        seq = self._seq
        self._active[skey] = self._active.get(skey, 0) + 1
        try:
            return await self._load_limited(key, skey, seq)
        finally:
            remaining = self._active[skey] - 1
            if remaining:
                self._active[skey] = remaining
            else:
                del self._active[skey]
                self._floor.pop(skey, None)

    async def _load_limited(self, key: Any, skey: Any, seq: int) -> Any:
        critical = self._is_critical is not None and bool(self._is_critical(key))
        priority = _CRITICAL if critical else _NORMAL
        slots = self._key_slots.get(skey)
        if slots is None:
            slots = self._key_slots[skey] = PrioritySlots(self._max_conc)
        breaker = self._breaker
        budget = self._budget
        probe = False  # this call holds the breaker's half-open probe
        running = False  # the loader was called and has not returned
        started = 0.0
        timeout = self._refresh_timeout
        deadline = _NO_DEADLINE if timeout is None else asyncio.timeout(timeout)
        try:
            async with deadline:
                if not slots.try_acquire():  # no coroutine when a slot is free
                    await slots.acquire(priority)
                try:
                    if budget is not None and not budget.try_acquire():
                        await budget.acquire(priority)
                    try:
                        if breaker is not None:
                            if not breaker.allow():
                                raise CircuitOpenError(
                                    f"circuit breaker is open: not loading {key!r}")
                            probe = breaker.state == HALF_OPEN
                        started = self._read_clock()
                        self.stats.loads += 1
                        running = True
                        value = await self._loader(key)
                        running = False
                    finally:
                        if budget is not None:
                            budget.release()
                finally:
                    slots.release()
        except TimeoutError:
            if deadline.expired():
                self.stats.refresh_timeouts += 1
            if running:
                self._record_failure()
            raise
        except Exception:
            if running:
                self._record_failure()
            raise
        except BaseException:  # cancelled, KeyboardInterrupt, SystemExit: no verdict
            if probe and running and breaker is not None:
                breaker.abandon()
            raise
        finally:
            if self._key_slots.get(skey) is slots and slots.idle():
                del self._key_slots[skey]
        if breaker is not None:
            breaker.record_success()
        now = self._read_clock()
        self._store_value(skey, value, seq, now, now - started)
        return value

    def _record_failure(self) -> None:
        self.stats.load_errors += 1
        if self._breaker is not None and self._breaker.record_failure():
            self.stats.breaker_opens += 1

    def _store_value(self, skey: Any, value: Any, seq: int, now: float, delta: float) -> None:
        if seq <= self._floor.get(skey, -1):
            return  # invalidated after this load started: never undo the invalidation
        current = self._data.get(skey)
        if current is not None and current.seq > seq:
            return  # a newer write landed first
        self._failures.pop(skey, None)
        entry = _Entry(value, now, now + self._ttl, now + self._ttl + self._stale_ttl, seq, delta)
        store = self._store
        before = store.evictions
        store[skey] = entry
        self.stats.evictions += store.evictions - before

    # ------------------------------------------------------------------ public API
    def set(self, key: K, value: V) -> None:
        """Store `value` for `key` now (fresh); loads already in flight will not overwrite it.

        Must be called while the cache's event loop runs (or with an injected clock).

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
        skey = key if self._namespace is None else (self._namespace, key)
        if self._clock is None:
            self._bind_loop()
        self._seq += 1
        if skey in self._active:
            self._floor[skey] = self._seq - 1  # loads already in flight may not overwrite it
        self._store_value(skey, value, self._seq, self._read_clock(), 0.0)

    def invalidate(self, key: K) -> None:
        """Drop `key`; no load already in flight may bring its result back.

        The next `get` starts a new load (it never joins one that began before this
        call); background refreshes of the key are cancelled.

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
        skey = key if self._namespace is None else (self._namespace, key)
        self._store.pop(skey, None)
        self._failures.pop(skey, None)
        if skey in self._active:
            self._floor[skey] = self._seq
        self._flights.forget(skey)
        for task in list(self._refreshes.get(skey, ())):
            task.cancel()

    def peek(self, key: K) -> V | None:
        """Return the stored value for `key` (fresh or not) without loading; None if absent.

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

        Keys already fresh count as warmed. Failures are not raised (they show in
        ``stats.load_errors``); loads coalesce with concurrent gets.

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
        _check_int("concurrency", concurrency, 1)
        self._bind_loop()
        limit = asyncio.Semaphore(concurrency)

        async def warm(key: Any) -> bool:
            skey = key if self._namespace is None else (self._namespace, key)
            async with limit:
                entry = self._data.get(skey)
                if entry is not None and self._read_clock() < entry.fresh_until:
                    return True
                try:
                    await self._flights.do(skey, lambda: self._load(key, skey))
                except Exception:
                    return False
                return True

        results = await asyncio.gather(*(warm(k) for k in keys))
        return sum(results)

    async def aclose(self) -> None:
        """Cancel background refreshes and wait for them to finish.

        The cache stays usable afterwards; its next call checks which loop runs it, so a
        cache closed at the end of one simulation starts clean in the next.

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
        if self._clock is None:
            # The next get checks which loop runs it (and rebinds if this one has stopped).
            self._now = self._bind_and_read_time
            self._cached_now = None

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
    def background_tasks(self) -> int:
        """How many background refresh tasks are running."""
        return len(self._tasks)

    @property
    def namespace(self) -> Hashable | None:
        """The key-schema version this cache stores under (None: plain keys)."""
        return self._namespace

    # ------------------------------------------------------------------ time and loop
    def _read_clock(self) -> float:
        """Now: the reading cached for this loop iteration, else a fresh one."""
        now = self._cached_now
        return self._now() if now is None else now

    def _bind_and_read_time(self) -> float:
        self._use_loop_clock(self._bind_loop())  # (also after aclose on the same loop)
        return self._now()

    def _use_loop_clock(self, loop: asyncio.AbstractEventLoop) -> None:
        self._cached_now = None  # a reading (and its expiry) from before
        self._loop_time = loop.time
        if getattr(type(loop), "time", None) is _STOCK_LOOP_TIME:
            self._now = self._caching_reader
        else:
            self._now = loop.time

    def _read_time_caching(self) -> float:
        """Read the stock loop's clock and share the reading until this iteration ends.

        Like nginx's cached time (``ngx_time_update`` once per event cycle): the reading
        stays in ``_cached_now`` until a ``call_soon`` callback, which runs after the
        callbacks of the current loop iteration, clears it. A burst of gets inside one
        callback (gets that do not suspend never let the loop iterate) therefore shares
        one instant. Trade-off: a callback that runs CPU-bound for seconds without
        yielding sees the time at which its first get read the clock (TTLs are seconds;
        asyncio's own timers are no more precise than that callback anyway). Only the
        stock loops' real-time clock is cached: with an injected clock or a loop that
        overrides ``time()`` (virtual time, whose clock a driver may move inside a
        callback), every read goes to the clock.
        """
        loop = self._bind_loop()  # once per iteration: is this still our loop?
        if self._now is not self._caching_reader:
            return self._now()  # rebound to a loop whose clock is not cached
        now = loop.time()
        self._cached_now = now
        self._cached_hits = self.stats.hits
        loop.call_soon(self._expire_cached_time)
        return now

    def _expire_cached_time(self) -> None:
        self._cached_now = None
        if self._now is not self._caching_reader:
            return  # unbound or rebound meanwhile
        if self.stats.hits - self._cached_hits >= _CACHED_TIME_MIN_HITS:
            self._direct_backoff = _DIRECT_READS_MIN
        else:
            # Too few hits shared that reading to pay for the callback (a get or two per
            # iteration is typical of a server): read the clock directly for a while.
            self._direct_reads = self._direct_backoff
            self._direct_backoff = min(2 * self._direct_backoff, _DIRECT_READS_MAX)
            self._now = self._counting_reader

    def _read_time_counting(self) -> float:
        """Read the stock loop's clock directly; after a while, try cached time again."""
        left = self._direct_reads - 1
        self._direct_reads = left
        if left <= 0:
            self._now = self._caching_reader
        return self._loop_time()  # type: ignore[misc]

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return loop
        old = self._loop
        if old is not None:
            if old.is_running():
                raise RuntimeError(
                    "this SWRCache is bound to another event loop that is still running; "
                    "create one cache per event loop")
            # The old loop's clock is gone: its timestamps mean nothing here.
            self._store.clear()
            self._init_state()
        self._loop = loop
        if self._clock is None:
            self._use_loop_clock(loop)
        return loop

    def __repr__(self) -> str:
        return (f"<SWRCache entries={len(self._store)}/{self._capacity} ttl={self._ttl} "
                f"stale_ttl={self._stale_ttl} namespace={self._namespace!r}>")
