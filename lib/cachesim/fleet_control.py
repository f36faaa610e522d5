"""The running fleet as events and observers see it (`FleetControl`), the events
themselves (`Deploy`, `Pause`, `Call`) and the stable hash that routes users.

Split from `cachesim.fleet` to keep each file small; import them from either module.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from .prewarm import Prewarm, TokenBucket, prewarm_keys
from .simulation import CacheFactory
from .vtime import VirtualTimeLoop

if TYPE_CHECKING:  # pragma: no cover
    from .fleet import Fleet
    from .fleet_result import FleetResult

__all__ = ["FleetControl", "Deploy", "Pause", "Call", "stable_hash"]

#: Marks database calls made on behalf of a pre-warm (inherited by tasks it starts).
_ORIGIN: contextvars.ContextVar[str] = contextvars.ContextVar("cachesim_fleet_origin", default="request")


def stable_hash(*parts: Any) -> int:
    """A 64-bit hash of `parts` (joined as text) that is the same in every process.

    Python's `hash()` of a string changes between runs; this does not.

    >>> stable_hash("user:1") == stable_hash("user:1"), stable_hash("a", "b") == stable_hash("a:b")
    (True, True)
    """
    text = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Deploy:
    """At virtual time `at`, restart `servers` (None: all) with empty caches.

    `factories` optionally swaps cohorts' cache factories from then on (e.g. a hotfix);
    `prewarm` loads keys into the fresh caches at a bounded rate (see `Prewarm`).
    """

    at: float
    servers: Sequence[int] | None = None
    factories: Mapping[str, CacheFactory] | None = None
    prewarm: Prewarm | None = None


@dataclass(frozen=True)
class Pause:
    """Server `server` answers nothing from `at` for `duration` seconds (a GC pause, a stuck
    process); requests routed to it wait and start when it resumes."""

    at: float
    duration: float
    server: int


@dataclass(frozen=True)
class Call:
    """At virtual time `at`, call `fn(control)` with the running `FleetControl` (a rollback,
    a rollout stage, a config switch). `label` names it in the event log."""

    at: float
    fn: Callable[["FleetControl"], Any]
    label: str = "call"


class FleetControl:
    """The running fleet, as events and observers see it: the clock, the caches, actions.

    Not constructed directly; `Call` events and observers receive it.
    """

    def __init__(self, fleet: "Fleet", loop: VirtualTimeLoop, t0: float) -> None:
        self.fleet = fleet
        self.loop = loop
        self.t0 = t0
        self.factories: dict[str, CacheFactory] = dict(fleet.factories)
        self.caches: list[dict[str, Any]] = [{} for _ in range(fleet.servers)]
        self.retired: list[Any] = []
        self.paused_until = [-math.inf] * fleet.servers
        self.events: list[tuple[float, str]] = []
        self.db_log: list[tuple[float, int, int, bool]] = []  # (t, server, cohort index, prewarm)
        self.tasks: list[asyncio.Task[Any]] = []
        self.prewarm_reports: list[Any] = []
        self._live: Any = None  # set by Fleet.run_async when traffic starts

    def result_so_far(self) -> "FleetResult":
        """A `FleetResult` of the requests finished so far (for judgements during the run,
        e.g. `cachesim.canary.auto_canary`); cache statistics are left empty.

        Raises:
            RuntimeError: traffic has not started.
        """
        from .fleet_result import FleetResult

        if self._live is None:
            raise RuntimeError("traffic has not started yet")
        arrivals, lat, err, servers, cohorts, fin = self._live
        done = np.frombuffer(bytes(fin), dtype=np.uint8).astype(bool)
        pick = np.flatnonzero(done)
        keys = arrivals.keys[pick]
        return FleetResult.build(
            name=self.fleet.name, duration=self.now(), cohorts=self.fleet.cohorts, servers=self.fleet.servers,
            times=arrivals.times[pick], latencies=np.asarray(lat)[pick],
            errors=bytes(np.frombuffer(bytes(err), dtype=np.uint8)[pick]), server=np.asarray(servers)[pick],
            cohort=bytes(np.frombuffer(bytes(cohorts), dtype=np.uint8)[pick]),
            critical=arrivals.critical[keys] if len(pick) else [], keys=keys, key_names=arrivals.key_names,
            db_log=list(self.db_log), events=list(self.events), cache_stats={})

    def now(self) -> float:
        """Virtual seconds since traffic started."""
        return self.loop.time() - self.t0

    def log(self, what: str) -> None:
        """Append `what` to the event log at the current virtual time."""
        self.events.append((round(self.now(), 9), what))

    def cache(self, server: int, cohort: str) -> Any:
        """The cache of `cohort` on `server` (built on first use).

        Raises:
            KeyError: `cohort` has no factory.
        """
        caches = self.caches[server]
        c = caches.get(cohort)
        if c is None:
            ci = self.fleet.cohorts.index(cohort) if cohort in self.fleet.cohorts else -1
            if ci < 0:
                raise KeyError(f"unknown cohort {cohort!r}; the fleet has {self.fleet.cohorts}")
            c = caches[cohort] = self.factories[cohort](self._loader(server, ci))
        return c

    def _loader(self, server: int, ci: int) -> Callable[[Hashable], Any]:
        shards = self.fleet.databases
        log = self.db_log
        loop = self.loop
        t0 = self.t0
        observers = self.fleet.observers

        async def load(key: Hashable) -> Any:
            prewarm = _ORIGIN.get() == "prewarm"
            t = loop.time() - t0
            log.append((t, server, ci, prewarm))
            for o in observers:
                o.on_db_call(t, server, ci)
            db = shards[0] if len(shards) == 1 else shards[stable_hash(key) % len(shards)]
            return await db.query(key)

        return load

    def deploy(self, servers: Iterable[int] | None = None, factories: Mapping[str, CacheFactory] | None = None,
               prewarm: Prewarm | None = None) -> None:
        """Restart `servers` (None: all) now with empty caches; optionally swap factories and
        pre-warm (one token bucket for the whole deploy, so the rate bound is fleet-wide).

        With ``prewarm.gate`` the new caches take traffic only once warm (a readiness
        gate); until then the old ones keep serving.

        Raises:
            KeyError: `factories` names a cohort the fleet does not have.
        """
        if factories:
            unknown = set(factories) - set(self.fleet.cohorts)
            if unknown:
                raise KeyError(f"unknown cohorts {sorted(unknown)}")
            self.factories.update(factories)
        targets = list(range(self.fleet.servers)) if servers is None else list(servers)
        self.log(f"deploy servers={targets}" + (f" factories={sorted(factories)}" if factories else ""))
        fresh: dict[int, dict[str, Any]] = {s: {} for s in targets}
        if prewarm is None or not prewarm.gate:
            self._swap(fresh)
        if prewarm is None:
            return
        bucket = TokenBucket(prewarm.rate, prewarm.burst)
        ctx = contextvars.copy_context()
        ctx.run(_ORIGIN.set, "prewarm")
        jobs = []
        for s in targets:
            mine = [k for k in prewarm.keys if self.fleet.server_of(k) == s]
            for c in (prewarm.cohorts or self.fleet.cohorts):
                cache = fresh[s][c] = self.factories[c](self._loader(s, self.fleet.cohorts.index(c)))
                jobs.append(prewarm_keys(cache, mine, prewarm, bucket=bucket))

        async def all_jobs() -> None:
            reports = await asyncio.gather(*jobs)
            self.prewarm_reports.extend(reports)
            self.log(f"prewarm done: {sum(r.warmed for r in reports)} keys warmed, "
                     f"{sum(r.failed for r in reports)} failed")
            if prewarm.gate:
                self._swap(fresh)

        self.tasks.append(self.loop.create_task(all_jobs(), context=ctx))

    def _swap(self, fresh: dict[int, dict[str, Any]]) -> None:
        for s, caches in fresh.items():
            self.retired.extend(self.caches[s].values())
            self.caches[s] = caches

    def pause(self, server: int, duration: float) -> None:
        """Stop `server` for `duration` virtual seconds from now."""
        self.paused_until[server] = max(self.paused_until[server], self.loop.time() + duration)
        self.log(f"pause server={server} for {duration:g}s")
