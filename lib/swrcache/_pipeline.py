"""The guarded load pipeline of `SWRCache` (private): everything but a fresh hit.

A get that finds no fresh value goes through `LoadPipeline._get_slow`: serve stale (and
start a background refresh), or join or start one coalesced load. Every loader call goes
through `_load`, which takes a sequence number, then `_call_loader`: a per-key slot, a
slot of the global refresh budget, the circuit breaker, the ``refresh_timeout`` deadline,
and the loader itself, in one ``try``. A result is stored only if no invalidation or
newer write happened since the load started (`_store_value`).

>>> entry = Entry("v", stored_at=0.0, fresh_until=1.0, stale_until=2.0, seq=1, delta=0.0)
>>> entry.value, entry.fresh_until
('v', 1.0)
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from ._loopclock import LoopClock
from .backoff import Backoff
from .breaker import HALF_OPEN, CircuitBreaker, CircuitOpenError
from .lru import LRUCache
from .singleflight import Singleflight
from .slots import PrioritySlots
from .stats import CacheStats
from .xfetch import should_refresh_early

__all__ = ["Entry", "LoadPipeline"]

_CRITICAL = 0
_NORMAL = 1


class Entry:
    """A stored value and the times that decide whether it is fresh, stale or expired."""

    __slots__ = ("value", "stored_at", "fresh_until", "stale_until", "seq", "delta")

    def __init__(self, value: Any, stored_at: float, fresh_until: float, stale_until: float,
                 seq: int, delta: float) -> None:
        self.value = value
        self.stored_at = stored_at
        self.fresh_until = fresh_until
        self.stale_until = stale_until
        self.seq = seq  # the `_seq` of the load or write that stored it
        self.delta = delta  # how long the load took (XFetch)


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


class LoadPipeline(LoopClock):
    """Base of `SWRCache`: its slow paths and loads, and the state they share.

    Invariants. Configuration (``_loader``, ``_ttl``, ``_stale_ttl``, ``_max_conc``,
    ``_breaker``, ``_budget``, ``_backoff``, ...) is written once, in
    ``SWRCache.__init__``. The fields below are (re)created by `_init_state` (at
    construction and by ``SWRCache._on_rebind`` when the cache moves to a new loop, which
    also empties the store) and written only on the cache's loop, by the methods named,
    never across an ``await`` (so no lock is needed):

    - ``_data``: the store's own ordered dict, bound once in ``SWRCache.__init__`` and
      never replaced; its items ``skey -> Entry`` (``skey`` is the key, or
      ``(namespace, key)``) are written by `_store_value` (a load's result or a `set`),
      by `_drop` (``invalidate``), by `_get_slow` (drops an entry past its stale
      window) and by the hit paths (``_touch``, the dict's ``move_to_end``, marks
      recency); eviction happens inside the store's ``__setitem__``.
    - ``_seq``: incremented by every load start (`_load`) and every write (`_write`);
      never decreases. An entry's ``seq`` is the ``_seq`` of what stored it.
    - ``_active``: ``skey -> number of loads started and not finished``; incremented at
      the start of `_load`, decremented in its ``finally``; a key with no load is absent.
    - ``_floor``: ``skey -> seq``; a load whose seq is <= the floor may not store its
      result. Written by `_drop` (floor = ``_seq``) and `_write` (floor = the
      write's seq - 1) only while the key has active loads; removed when
      ``_active[skey]`` drops to zero (no load that could be stopped is left).
    - ``_flights``: the coalesced loads that gets and `_warm` wait for; `_drop` forgets
      the key's flight, so a later get starts a new load.
    - ``_key_slots``: ``skey -> PrioritySlots(max_refresh_concurrency)``, created by the
      first load of a key, removed by the last one when no one holds or waits for it.
    - ``_refreshes`` / ``_latest_refresh``: background refresh tasks per key, and the
      newest one (which a stale get with ``wait_threshold`` waits for); added by
      `_start_refresh`, removed by `_refresh_done` when the task ends; ``_tasks``: every
      background task (``aclose`` cancels them).
    - ``_failures``: ``skey -> (consecutive failed refreshes, retry_at)``; written by
      `_refresh` when one fails, removed by `_store_value` and by `_drop`.
    """

    __slots__ = (
        # configuration
        "_loader", "_ttl", "_stale_ttl", "_wait_threshold", "_refresh_timeout", "_max_conc",
        "_is_critical", "_breaker", "_budget", "_backoff", "_beta", "_xfetch", "_rng",
        "_store", "_data",
        # state
        "_flights", "_seq", "_floor", "_active", "_key_slots", "_refreshes",
        "_latest_refresh", "_failures", "_tasks",
    )

    # Configuration, set by SWRCache.__init__.
    _loader: Callable[[Any], Awaitable[Any]]
    _ttl: float
    _stale_ttl: float
    _wait_threshold: float | None
    _refresh_timeout: float | None
    _max_conc: int
    _is_critical: Callable[[Any], bool] | None
    _breaker: CircuitBreaker | None
    _budget: PrioritySlots | None
    _backoff: Backoff
    _beta: float
    _xfetch: bool
    _rng: random.Random
    _store: LRUCache[Any, Entry]
    _data: OrderedDict[Any, Entry]
    stats: CacheStats

    def _init_state(self) -> None:
        self._flights: Singleflight[Any, Any] = Singleflight()
        self._seq = 0
        self._floor: dict[Any, int] = {}
        self._active: dict[Any, int] = {}
        self._key_slots: dict[Any, PrioritySlots] = {}
        self._refreshes: dict[Any, set[asyncio.Task[Any]]] = {}
        self._latest_refresh: dict[Any, asyncio.Task[Any]] = {}
        self._failures: dict[Any, tuple[int, float]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ gets
    async def _get_slow(self, key: Any, skey: Any) -> Any:
        self._bind_loop()
        now = self._read_clock()
        entry = self._data.get(skey)
        if entry is not None:
            if now < entry.fresh_until:
                self._count_hit(key, skey, entry, now)
                return entry.value
            if now < entry.stale_until:
                self._data.move_to_end(skey)
                return await self._serve_stale(key, skey, entry, now)
            # Past the stale window: never served again.
            del self._store[skey]
        return await self._load_coalesced(key, skey)

    def _count_hit(self, key: Any, skey: Any, entry: Entry, now: float) -> None:
        """A fresh hit off the fast path: recency, the counter, maybe an XFetch refresh."""
        self._data.move_to_end(skey)
        self.stats.hits += 1
        if self._xfetch and should_refresh_early(
                now, entry.fresh_until, entry.delta, self._beta, self._rng):
            if self._start_refresh(key, skey, now) is not None:
                self.stats.early_refreshes += 1

    async def _serve_stale(self, key: Any, skey: Any, entry: Entry, now: float) -> Any:
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

    async def _warm(self, key: Any, skey: Any, limit: asyncio.Semaphore) -> bool:
        """`prewarm` of one key: True if it is fresh afterwards."""
        async with limit:
            entry = self._data.get(skey)
            if entry is not None and self._read_clock() < entry.fresh_until:
                return True
            try:
                await self._flights.do(skey, lambda: self._load(key, skey))
            except Exception:
                return False
            return True

    # ------------------------------------------------------------------ background refresh
    def _start_refresh(self, key: Any, skey: Any, now: float) -> asyncio.Task[Any] | None:
        """Start a background refresh unless the per-key limit, backoff or breaker says no."""
        tasks = self._refreshes.get(skey)
        running = (len(tasks) if tasks else 0) + (1 if skey in self._flights else 0)
        if running >= self._max_conc:
            return None
        failure = self._failures.get(skey)
        if failure is not None and now < failure[1]:
            return None
        if self._breaker is not None and not self._breaker.would_allow(now):
            return None
        task = self._bind_loop().create_task(self._refresh(key, skey))
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
            delay = self._backoff.delay(failures, self._rng)
            self._failures[skey] = (failures, self._read_clock() + delay)
            raise

    # ------------------------------------------------------------------ one load
    async def _load(self, key: Any, skey: Any) -> Any:
        """One loader call for `key`, its result stored unless invalidated or overwritten."""
        self._seq += 1
        seq = self._seq
        self._active[skey] = self._active.get(skey, 0) + 1
        try:
            value, started = await self._call_loader(key, skey)
            # Still counted in `_active`, so `_floor[skey]` is still in force.
            now = self._read_clock()
            self._store_value(skey, value, seq, now, now - started)
            return value
        finally:
            remaining = self._active[skey] - 1
            if remaining:
                self._active[skey] = remaining
            else:
                del self._active[skey]
                self._floor.pop(skey, None)

    async def _call_loader(self, key: Any, skey: Any) -> tuple[Any, float]:
        """Slots, breaker, deadline, loader: return (value, time the loader was called).

        Raises the loader's exception, ``TimeoutError`` (``refresh_timeout``, queueing for
        a slot included) or ``CircuitOpenError``. A failure of the loader itself counts
        against the breaker; cancellation gives no verdict (a held probe is freed).
        """
        slots = self._key_slots.get(skey)
        if slots is None:
            slots = self._key_slots[skey] = PrioritySlots(self._max_conc)
        budget = self._budget
        breaker = self._breaker
        critical = self._is_critical is not None and bool(self._is_critical(key))
        priority = _CRITICAL if critical else _NORMAL
        timeout = self._refresh_timeout
        deadline = _NO_DEADLINE if timeout is None else asyncio.timeout(timeout)
        held_slot = held_budget = probe = running = False
        try:
            async with deadline:
                if not slots.try_acquire():  # no coroutine when a slot is free
                    await slots.acquire(priority)
                held_slot = True  # (no await since acquire returned: no cancellation)
                if budget is not None:
                    if not budget.try_acquire():
                        await budget.acquire(priority)
                    held_budget = True
                started = self._read_clock()
                if breaker is not None:
                    if not breaker.allow(started):
                        raise CircuitOpenError(f"circuit breaker is open: not loading {key!r}")
                    probe = breaker.state == HALF_OPEN
                self.stats.loads += 1
                running = True
                value = await self._loader(key)
                running = False
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
            if held_budget:
                budget.release()  # type: ignore[union-attr]
            if held_slot:
                slots.release()
            if self._key_slots.get(skey) is slots and slots.idle():
                del self._key_slots[skey]
        if breaker is not None:
            breaker.record_success()
        return value, started

    def _record_failure(self) -> None:
        self.stats.load_errors += 1
        if self._breaker is not None and self._breaker.record_failure(self._read_clock()):
            self.stats.breaker_opens += 1

    # ------------------------------------------------------------------ writes
    def _store_value(self, skey: Any, value: Any, seq: int, now: float, delta: float) -> None:
        if seq <= self._floor.get(skey, -1):
            return  # invalidated after this load started: never undo the invalidation
        current = self._data.get(skey)
        if current is not None and current.seq > seq:
            return  # a newer write landed first
        self._failures.pop(skey, None)
        entry = Entry(value, now, now + self._ttl, now + self._ttl + self._stale_ttl, seq, delta)
        store = self._store
        before = store.evictions
        store[skey] = entry
        self.stats.evictions += store.evictions - before

    def _write(self, skey: Any, value: Any) -> None:
        """`set`: store `value` now; loads already in flight may not overwrite it."""
        self._seq += 1
        if skey in self._active:
            self._floor[skey] = self._seq - 1
        self._store_value(skey, value, self._seq, self._read_clock(), 0.0)

    def _drop(self, skey: Any) -> None:
        """`invalidate`: no load in flight may store, no later get joins one."""
        self._store.pop(skey, None)
        self._failures.pop(skey, None)
        if skey in self._active:
            self._floor[skey] = self._seq
        self._flights.forget(skey)
        for task in list(self._refreshes.get(skey, ())):
            task.cancel()
