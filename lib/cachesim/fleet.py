"""Several app servers, each with its own in-process caches, sharing one simulated database.

Requests are routed to servers by a stable hash of the user (sticky: a user always lands
on the same server). Each server holds one cache per *cohort* ("control", "canary", ...),
built by that cohort's factory; an `assign(user, server, t)` callable (e.g. a feature flag,
see `cachesim.rollout`) chooses the cohort of each request. Scheduled events change the
fleet at virtual times: `Deploy` (fresh caches, optionally a new factory and a bounded
pre-warm), `Pause` (a server stops answering for a while), `Call` (anything else, e.g.
move a rollout stage). Database faults are cachesim's own `Fault`s on the database; give
a list of databases to shard keys over them (a slow shard is a fault on one of them).

>>> from cachesim import Workload, SimulatedDatabase, NaiveCache
>>> fleet = Fleet(Workload(duration=60, rate=50, keys=200, seed=1),
...               lambda load: NaiveCache(load, ttl=30), servers=4,
...               database=SimulatedDatabase(latency=0.01, seed=1))
>>> r = fleet.run()
>>> r.requests == sum(g.requests for g in r.by_server().values())
True
>>> r.overall().p99
0.01
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

from .database import SimulatedDatabase
from .fleet_control import Call, Deploy, FleetControl, Pause, stable_hash
from .fleet_result import FleetResult, GroupStats
from .simulation import CacheFactory, STAT_FIELDS
from .vtime import VirtualTimeLoop, run
from .workload import Workload

__all__ = ["Fleet", "Deploy", "Pause", "Call", "FleetControl", "stable_hash", "FleetResult", "GroupStats"]


class _Resume:
    """Continue a coroutine that was already stepped once by hand (it yielded `first`)."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Any, first: Any) -> None:
        self.coro, self.first = coro, first

    def __await__(self):
        coro, yielded = self.coro, self.first
        while True:
            try:
                yield yielded
            except BaseException as exc:
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                yielded = coro.send(None)
            except StopIteration as stop:
                return stop.value


class Fleet:
    """A fleet of `servers` app servers in front of one (or a sharded) simulated database.

    Args:
        workload: the traffic; its keys are the users (each request reads its user's key).
            Its random per-request `servers` are ignored (the fleet routes by user hash);
            its `deploys` must be empty (give `Deploy` events).
        factories: one cache factory (`lambda load: Cache(load, ...)`, cohort "control") or
            a mapping cohort name -> factory. Every server builds its own cache per cohort.
        servers: number of app servers (default: `workload.servers`).
        database: a `SimulatedDatabase`, or a list of them: keys are sharded by stable hash.
        assign: `assign(user, server, t) -> cohort name` for each request (t: virtual
            seconds since traffic started); default: the first cohort.
        events: `Deploy`, `Pause` and `Call` events (virtual times since traffic started).
        observers: objects with `on_request(t_end, latency, error, server, cohort_index)` and
            `on_db_call(t, server, cohort_index)` (e.g. `cachesim.telemetry.Telemetry`);
            optional `on_start(control)` / `on_end(control)` are called before traffic and
            after the last request.
        warm: keys loaded into every cache of their server before traffic (not measured).

    Raises:
        ValueError: invalid arguments (no cohorts, servers < 1, an empty database list,
            deploys in the workload).
    """

    def __init__(
        self,
        workload: Workload,
        factories: CacheFactory | Mapping[str, CacheFactory],
        *,
        servers: int | None = None,
        database: SimulatedDatabase | Sequence[SimulatedDatabase] | None = None,
        assign: Callable[[Hashable, int, float], str] | None = None,
        events: Sequence[Deploy | Pause | Call] = (),
        observers: Sequence[Any] = (),
        warm: Iterable[Hashable] = (),
        name: str = "fleet",
    ) -> None:
        if not isinstance(workload, Workload):
            raise ValueError(f"workload must be a cachesim.Workload, got {workload!r}")
        if workload.deploys:
            raise ValueError("a Fleet takes deploys as events: use events=[Deploy(t), ...] instead of "
                             "Workload(deploys=...)")
        self.workload = workload
        self.factories: dict[str, CacheFactory] = (
            dict(factories) if isinstance(factories, Mapping) else {"control": factories})
        if not self.factories or not all(callable(f) for f in self.factories.values()):
            raise ValueError("factories must be a cache factory or a non-empty mapping of cohort -> factory")
        self.cohorts: tuple[str, ...] = tuple(self.factories)
        self.servers = int(servers if servers is not None else workload.servers)
        if self.servers < 1:
            raise ValueError(f"servers must be >= 1, got {servers!r}")
        if database is None:
            database = SimulatedDatabase()
        self.databases: list[SimulatedDatabase] = (
            [database] if isinstance(database, SimulatedDatabase) else list(database))
        if not self.databases:
            raise ValueError("database: give at least one SimulatedDatabase")
        self.assign = assign
        for e in events:
            if not isinstance(e, (Deploy, Pause, Call)):
                raise ValueError(f"events must be Deploy, Pause or Call, got {e!r}")
            if isinstance(e, Pause) and not 0 <= e.server < self.servers:
                raise ValueError(f"Pause.server {e.server} is not a server of this fleet")
        self.events = sorted(events, key=lambda e: e.at)
        self.observers = list(observers)
        self.warm = list(warm)
        self.name = name
        self._route: dict[Hashable, int] = {}

    def server_of(self, user: Hashable) -> int:
        """The server `user` is routed to (stable hash; sticky)."""
        s = self._route.get(user)
        if s is None:
            s = self._route[user] = stable_hash("route", user) % self.servers
        return s

    def run(self, *, wall_timeout: float | None = 120.0, max_virtual_time: float | None = None) -> FleetResult:
        """Run the fleet to the end of its workload in virtual time; return a `FleetResult`.

        Raises:
            RunawaySimulation: past `wall_timeout` real seconds or `max_virtual_time`
                (default 10x the workload plus an hour).
            SimulationDeadlock: a cache waits on something nothing completes.
        """
        if max_virtual_time is None:
            max_virtual_time = 10 * self.workload.duration + 3600.0
        return run(self.run_async, wall_timeout=wall_timeout, max_virtual_time=max_virtual_time)

    async def run_async(self) -> FleetResult:
        """The body of `run`, inside an already running `VirtualTimeLoop`.

        Raises:
            RuntimeError: not on a `VirtualTimeLoop`.
            Exception: whatever `assign`, an observer or a `Call` raises ends the run with it.

        Cancelling it cancels the pre-warms it started; requests in flight are left to the
        loop (`cachesim.run` cancels them when the main coroutine ends).
        """
        loop = asyncio.get_running_loop()
        if not isinstance(loop, VirtualTimeLoop):
            raise RuntimeError("Fleet.run_async must run on a VirtualTimeLoop (use Fleet.run)")
        for db in self.databases:
            db.reset()
            db.hold()
        arrivals = self.workload.generate()
        names = arrivals.key_names
        ctl = FleetControl(self, loop, loop.time())
        for k in self.warm:
            s = self.server_of(k)
            for c in self.cohorts:
                await ctl.cache(s, c).get(k)
        ctl.db_log.clear()
        t0 = ctl.t0 = loop.time()
        for db in self.databases:
            db.start(t0)
        for o in self.observers:
            if hasattr(o, "on_start"):
                o.on_start(ctl)
        times = (arrivals.times + t0).tolist()
        keys = [names[k] for k in arrivals.keys.tolist()]
        n = len(times)
        route = [self.server_of(k) for k in names]
        servers = [route[k] for k in arrivals.keys.tolist()]
        cohorts = bytearray(n)
        lat = [0.0] * n
        err = bytearray(n)
        state = {"i": 0, "pending": 0}
        done: asyncio.Future[None] = loop.create_future()
        assign, cohort_ix = self.assign, {c: i for i, c in enumerate(self.cohorts)}
        observers = self.observers

        def check_done() -> None:
            if state["pending"] == 0 and state["i"] >= n and not done.done():
                done.set_result(None)

        def guard(fn: Callable[..., Any]) -> Callable[..., None]:
            """Run a callback; an exception (a broken assign, observer or event) ends the run
            with that exception instead of being logged and leaving the run to deadlock."""
            def guarded(*args: Any) -> None:
                try:
                    fn(*args)
                except BaseException as exc:  # noqa: BLE001 - delivered to run_async
                    if not done.done():
                        done.set_exception(exc)
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
            return guarded

        fin = bytearray(n)
        ctl._live = (arrivals, lat, err, servers, cohorts, fin)

        def finish(i: int) -> None:
            fin[i] = 1
            lat[i] = loop.time() - times[i]
            for o in observers:
                o.on_request(loop.time() - t0, lat[i], bool(err[i]), servers[i], cohorts[i])

        guarded_finish = guard(finish)

        async def wait(i: int, aw: Any) -> None:
            try:
                await aw
            except Exception:
                err[i] = 1
            state["pending"] -= 1
            guarded_finish(i)
            check_done()

        def start(i: int) -> None:
            s = servers[i]
            if ctl.paused_until[s] > loop.time():
                state["pending"] += 1
                loop.call_at(ctl.paused_until[s], guard(resume), i)
                return
            cohort = assign(keys[i], s, loop.time() - t0) if assign is not None else self.cohorts[0]
            cohorts[i] = cohort_ix[cohort]
            coro = ctl.cache(s, cohort).get(keys[i])
            if not hasattr(coro, "send"):  # an awaitable that is not a coroutine
                state["pending"] += 1
                loop.create_task(wait(i, coro))
                return
            try:
                first = coro.send(None)
            except StopIteration:
                finish(i)
                return
            except RuntimeError as exc:
                if "task" not in str(exc).lower():
                    err[i] = 1
                    finish(i)
                    return
                # the cache needs a current Task (asyncio.timeout) before it first waits
                coro.close()
                state["pending"] += 1
                loop.create_task(wait(i, ctl.cache(s, cohort).get(keys[i])))
                return
            except Exception:
                err[i] = 1
                finish(i)
                return
            state["pending"] += 1
            loop.create_task(wait(i, _Resume(coro, first)))

        def resume(i: int) -> None:
            state["pending"] -= 1
            start(i)
            check_done()

        def pump() -> None:
            i = state["i"]
            while i < n:
                t = times[i]
                if t > loop.time() and not loop.try_jump_to(t):
                    state["i"] = i
                    loop.call_at(t, guarded_pump)
                    return
                state["i"] = i + 1
                start(i)
                i += 1
            state["i"] = n
            check_done()

        guarded_pump = guard(pump)

        for e in self.events:
            if isinstance(e, Deploy):
                loop.call_at(t0 + e.at, guard(ctl.deploy), e.servers, e.factories, e.prewarm)
            elif isinstance(e, Pause):
                loop.call_at(t0 + e.at, guard(ctl.pause), e.server, e.duration)
            else:
                loop.call_at(t0 + e.at, guard(lambda e=e: (ctl.log(e.label), e.fn(ctl))))
        loop.call_at(times[0] if n else t0, guarded_pump)
        try:
            await done
        finally:
            for task in ctl.tasks:  # pre-warms still running when traffic ends
                if not task.done():
                    task.cancel()
        for o in self.observers:
            if hasattr(o, "on_end"):
                o.on_end(ctl)
        stats = {c: dict.fromkeys(STAT_FIELDS, 0) for c in self.cohorts}
        for s_caches in ctl.caches:
            for c, cache in s_caches.items():
                _add_stats(stats[c], cache)
        # retired caches are no longer attributed to a cohort by name: add them to "all"
        for cache in ctl.retired:
            _add_stats(stats.setdefault("retired", dict.fromkeys(STAT_FIELDS, 0)), cache)
        return FleetResult.build(
            name=self.name, duration=self.workload.duration, cohorts=self.cohorts, servers=self.servers,
            times=arrivals.times, latencies=lat, errors=err, server=servers, cohort=cohorts,
            critical=arrivals.critical[arrivals.keys] if n else [], keys=arrivals.keys, key_names=names,
            db_log=ctl.db_log, events=ctl.events, cache_stats=stats,
        )


def _add_stats(into: dict[str, int], cache: Any) -> None:
    st = getattr(cache, "stats", None)
    if st is not None:
        for f in STAT_FIELDS:
            into[f] += int(getattr(st, f, 0) or 0)
