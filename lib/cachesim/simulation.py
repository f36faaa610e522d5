"""Run a workload against caches and a simulated database, in virtual time.

>>> from cachesim import Workload, SimulatedDatabase, NaiveCache, simulate
>>> result = simulate(
...     Workload(duration=10, rate=200, keys=100, zipf_s=1.1, seed=1),
...     lambda load: NaiveCache(load, ttl=5.0),
...     database=SimulatedDatabase(latency=0.02, seed=1),
... )
>>> result.requests, result.db_calls == result.cache_stats["loads"]
(2026, True)
>>> result.p50, result.max
(0.0, 0.02)

The request driver is lean: arrivals are processed in a tight loop that moves the clock
itself whenever nothing else is due (exactly what the loop would do), each `get` coroutine
is stepped directly, and a request that waits is resumed from the callback of the future
it waits on (`cachesim.fiber.Fiber`), without a Task of its own.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from dataclasses import fields
from types import CoroutineType
from typing import Any, Awaitable, Callable, Hashable, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np
from swrcache import CacheStats

from .database import SimulatedDatabase
from .progress import Progress, make_progress
from .results import SimResult
from .runner import run
from .fiber import Fiber
from .vtime import VirtualTimeLoop
from .workload import Workload

__all__ = ["CacheLike", "CacheFactory", "simulate", "simulate_async", "STAT_FIELDS"]

#: The cache counters a result sums over servers and deploys: `swrcache.CacheStats`'s
#: fields, read from any cache's ``stats`` (a counter it lacks counts 0).
STAT_FIELDS = tuple(f.name for f in fields(CacheStats))


@runtime_checkable
class CacheLike(Protocol):
    """Anything with `async get(key)`: a learner's cache, `SWRCache`, a baseline."""

    async def get(self, key: Hashable) -> Any: ...


Loader = Callable[[Hashable], Awaitable[Any]]
CacheFactory = Callable[[Loader], CacheLike]


class _Driver:
    def __init__(
        self,
        loop: VirtualTimeLoop,
        times: list[float],
        keys: list[Hashable],
        servers: list[int],
        caches: list[Any],
        progress: Progress | None,
        t0: float,
    ) -> None:
        self.loop = loop
        self.times = times
        self.keys = keys
        self.servers = servers
        self.caches = caches
        self.n = len(times)
        self.lat = [0.0] * self.n
        self.err = bytearray(self.n)
        self.i = 0  # requests started: n once every request has started
        self.pending = 0
        self.done: asyncio.Future[None] = loop.create_future()
        self.progress = progress
        self.t0 = t0
        self.use_tasks = False
        self.error_kinds: dict[str, int] = {}
        self.first_errors: dict[str, str] = {}
        self._start = self._make_start()

    def _error(self, i: int, exc: BaseException) -> None:
        self.err[i] = 1
        kind = type(exc).__name__
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if kind not in self.first_errors:
            self.first_errors[kind] = f"{kind}: {exc}"[:300]

    def _finish_if_done(self) -> None:
        if self.pending == 0 and self.i >= self.n and not self.done.done():
            self.done.set_result(None)

    def ended(self, exc: BaseException | None) -> None:
        """All requests started (exc None), or starting one failed (delivered to main)."""
        if exc is not None:
            if not self.done.done():
                self.done.set_exception(exc)
            return
        self.i = self.n
        self._finish_if_done()

    def tick(self, i: int) -> None:
        if self.progress is not None:
            self.progress.update(i, self.loop.time() - self.t0)

    def _make_start(self) -> Callable[[int], None]:
        """`start(i)`: begin request i (a closure: this runs once per request)."""
        caches, servers, keys, loop = self.caches, self.servers, self.keys, self.loop
        resumed = self._resumed
        coroutine = CoroutineType

        def start(i: int) -> None:
            if self.use_tasks:
                self.pending += 1
                loop.create_task(self._run_task(i))
                return
            coro = caches[servers[i]].get(keys[i])
            if type(coro) is not coroutine:
                self._start_awaitable(i, coro)
                return
            try:
                yielded = coro.send(None)
            except StopIteration:
                return  # answered without waiting: latency 0
            except Exception as exc:
                self._first_step_failed(i, coro, exc)
                return
            # It waits: resume it from the callback of what it waits on (no Task needed).
            self.pending += 1
            Fiber(loop, coro, yielded, resumed, i)

        return start

    def _start_awaitable(self, i: int, coro: Any) -> None:
        if not inspect.isawaitable(coro):
            raise TypeError(
                f"cache.get({self.keys[i]!r}) returned {type(coro).__name__}, not an awaitable: "
                "the cache's get must be `async def get(self, key)`"
            )
        self.pending += 1
        self.loop.create_task(self._finish(i, coro))

    def _first_step_failed(self, i: int, coro: Any, exc: Exception) -> None:
        if isinstance(exc, RuntimeError) and "task" in str(exc).lower():
            # The cache needs a current task (e.g. asyncio.timeout) before its first
            # suspension: fall back to one Task per request from now on.
            coro.close()
            self.use_tasks = True
            self._start(i)
            return
        self._error(i, exc)

    def _resumed(self, i: int, exc: BaseException | None) -> None:
        if exc is not None:
            if not isinstance(exc, Exception):  # cancelled (the run is being torn down)
                return
            self._error(i, exc)
        self.lat[i] = self.loop.time() - self.times[i]
        self.pending -= 1
        if self.pending == 0 and self.i >= self.n:
            self._finish_if_done()

    async def _finish(self, i: int, waiting: Any) -> None:
        try:
            await waiting
        except Exception as exc:
            self._error(i, exc)
        self.lat[i] = self.loop.time() - self.times[i]
        self.pending -= 1
        if self.pending == 0 and self.i >= self.n:
            self._finish_if_done()

    async def _run_task(self, i: int) -> None:
        try:
            await self.caches[self.servers[i]].get(self.keys[i])
        except Exception as exc:
            self._error(i, exc)
        self.lat[i] = self.loop.time() - self.times[i]
        self.pending -= 1
        if self.pending == 0 and self.i >= self.n:
            self._finish_if_done()


def _is_instance(cache: Any) -> bool:
    return not isinstance(cache, type) and callable(getattr(cache, "get", None))


def _stats_of(cache: Any) -> dict[str, int] | None:
    stats = getattr(cache, "stats", None)
    if stats is None:
        return None
    return {f: int(getattr(stats, f, 0) or 0) for f in STAT_FIELDS}


async def _prewarm(cache: Any, keys: Sequence[Hashable]) -> None:
    if not keys:
        return
    prewarm = getattr(cache, "prewarm", None)
    if callable(prewarm):
        await prewarm(list(keys))
    else:
        for k in keys:
            await cache.get(k)


async def simulate_async(
    workload: Workload,
    cache: CacheFactory | CacheLike,
    *,
    database: SimulatedDatabase | None = None,
    warm: Iterable[Hashable] = (),
    prewarm_on_deploy: Iterable[Hashable] = (),
    name: str | None = None,
    threshold: float | None = None,
    progress: bool | Progress | None = None,
) -> SimResult:
    """The body of `simulate`, for use inside an already running virtual-time loop."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualTimeLoop):
        raise RuntimeError("simulate_async must run on a VirtualTimeLoop (use cachesim.run or simulate)")
    db = database if database is not None else SimulatedDatabase()
    db.reset()
    db.hold()
    warm = list(warm)
    prewarm_on_deploy = list(prewarm_on_deploy)
    arrivals = workload.generate()

    if _is_instance(cache):
        if workload.servers != 1 or workload.deploys:
            raise ValueError(
                "cache must be a factory (lambda load: MyCache(load, ...)) when the workload has "
                "several servers or deploys: each server and each deploy needs a fresh instance"
            )
        caches = [cache]

        def factory(load: Loader) -> Any:  # pragma: no cover - never called
            raise AssertionError

    else:
        factory = cache  # type: ignore[assignment]
        caches = [factory(db.query) for _ in range(workload.servers)]
        for c in caches:
            if not callable(getattr(c, "get", None)):
                raise ValueError(f"cache factory returned {c!r}, which has no async get(key)")
    retired: list[Any] = []

    for c in caches:
        await _prewarm(c, warm)
    t0 = loop.time()
    db.start(t0)
    before = [_stats_of(c) for c in caches]

    key_names = arrivals.key_names
    times = (arrivals.times + t0).tolist()
    keys = [key_names[k] for k in arrivals.keys.tolist()]
    servers = arrivals.servers.tolist()

    prog: Progress | None
    if isinstance(progress, Progress):
        prog = progress
    else:
        prog = make_progress(progress, total=len(times), duration=workload.duration, label=name or "simulation")
    driver = _Driver(loop, times, keys, servers, caches, prog, t0)

    bg: list[asyncio.Task[Any]] = []

    def deploy() -> None:
        for s in range(len(caches)):
            retired.append(caches[s])
            caches[s] = factory(db.query)
            if prewarm_on_deploy:
                bg.append(loop.create_task(_prewarm(caches[s], prewarm_on_deploy)))

    for t in workload.deploys:
        loop.call_at(t0 + t, deploy)
    loop.call_each_at(times, driver._start, driver.ended, driver.tick if prog is not None else None)
    try:
        await driver.done
    finally:
        if prog is not None:
            prog.close(driver.i, loop.time() - t0)

    stats: dict[str, int] | None = None
    all_caches = caches + retired
    snaps = [_stats_of(c) for c in all_caches]
    if all(s is not None for s in snaps):
        stats = {f: 0 for f in STAT_FIELDS}
        for s in snaps:
            for f in STAT_FIELDS:
                stats[f] += s[f]  # type: ignore[index]
        for s in before:
            for f in STAT_FIELDS:
                stats[f] -= s[f]  # type: ignore[index]

    is_critical = arrivals.critical[arrivals.keys] if len(arrivals) else np.zeros(0, dtype=bool)
    return SimResult.build(
        name=name or _default_name(caches[0] if caches else None),
        workload=workload,
        times=arrivals.times,
        # Nanosecond resolution: 2.0 stays 2.0 instead of 1.9999999999999998.
        latencies=np.round(np.asarray(driver.lat, dtype=float), 9),
        errors=np.frombuffer(bytes(driver.err), dtype=np.uint8).astype(bool),
        critical=is_critical,
        database=db,
        t0=t0,
        cache_stats=stats,
        threshold=threshold,
        error_kinds=dict(sorted(driver.error_kinds.items())),
        first_errors=dict(sorted(driver.first_errors.items())),
    )


def _default_name(cache: Any) -> str:
    return type(cache).__name__ if cache is not None else "simulation"


def simulate(
    workload: Workload,
    cache: CacheFactory | CacheLike,
    *,
    database: SimulatedDatabase | None = None,
    warm: Iterable[Hashable] = (),
    prewarm_on_deploy: Iterable[Hashable] = (),
    name: str | None = None,
    threshold: float | None = None,
    progress: bool | Progress | None = None,
    wall_timeout: float | None = 120.0,
    max_virtual_time: float | None = None,
) -> SimResult:
    """Send `workload` through `cache` to `database`, in virtual time; return a `SimResult`.

    Args:
        workload: the traffic (`Workload`).
        cache: a factory `lambda load: MyCache(load, ...)` called once per app server (and
            again at each deploy) with the database's query function as the loader; or a
            single cache instance already wired to `database.query` (one server, no deploys).
        database: the `SimulatedDatabase` (default: 5 ms, unlimited capacity). Reset first.
        warm: keys loaded into every cache before traffic starts (not counted in the results).
        prewarm_on_deploy: keys loaded again after each deploy (in the background).
        name: a label for tables and plots (default: the cache's class name).
        threshold: a latency (s) to mark on plots, e.g. a wait threshold or an SLO.
        progress: None = a progress bar only in an interactive notebook; True/False force it.
        wall_timeout: real seconds before the run is stopped as runaway.
        max_virtual_time: virtual seconds before the run is stopped as runaway
            (default: 10x the workload's duration plus an hour).

    Times in the result (latencies, timelines, faults) count from the start of traffic.
    Determinism needs every random source seeded: the workload and database take `seed`;
    give caches a seeded rng too (e.g. ``SWRCache(..., rng=random.Random(seed))`` for its
    backoff jitter), or runs with failures may differ.
    """
    if not isinstance(workload, Workload):
        raise ValueError(f"workload must be a cachesim.Workload, got {workload!r}")
    if cache is None or (not callable(cache) and not _is_instance(cache)):
        raise ValueError(f"cache must be a cache factory or an object with async get(key), got {cache!r}")
    if threshold is not None and not (isinstance(threshold, (int, float)) and threshold >= 0):
        raise ValueError(f"threshold must be a non-negative number of seconds, got {threshold!r}")
    if max_virtual_time is None:
        max_virtual_time = 10 * workload.duration + 3600.0
    if math.isinf(max_virtual_time):
        raise ValueError("max_virtual_time must be finite")
    return run(
        lambda: simulate_async(
            workload,
            cache,
            database=database,
            warm=warm,
            prewarm_on_deploy=prewarm_on_deploy,
            name=name,
            threshold=threshold,
            progress=progress,
        ),
        wall_timeout=wall_timeout,
        max_virtual_time=max_virtual_time,
    )

