"""A ready-made experiment: one hot key whose refresh is slow, three caches side by side.

`hot_key_refresh_demo` is the simulator's one-call demonstration of head-of-line blocking (the
benchmarks time it too): one hot key goes stale under steady load while its refresh takes 2 s.
Module 03's notebook runs the course's own version of this scenario with the learner's code
(`cache_course.m03_hol_blocking.run_hol`); both use `HOT_KEY`, the hottest user of a Zipf
workload (`Workload(...).key_names[0]`). Three caches side by side:

- naive: every miss loads, so the database sees one query per waiting caller;
- singleflight: one coalesced load, but every caller waits behind it (p99 near 2 s);
- singleflight + 100 ms wait threshold (`swrcache.SWRCache`): one load, and callers get the
  stale value after 100 ms (p99 near 100 ms).

>>> demo = hot_key_refresh_demo(seed=1, plot=False)
>>> for name, n in demo.numbers().items():
...     print(f"{name:<32} db calls {n['db_calls']:>5}  p99 {n['p99']:.3f} s")
naive                            db calls  1049  p99 2.000 s
singleflight                     db calls     1  p99 1.959 s
singleflight + 100 ms threshold  db calls     1  p99 0.100 s
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from typing import Any

from .baselines import NaiveCache, SingleflightCache
from .database import Fixed, SimulatedDatabase
from .results import Comparison, SimResult, compare, format_seconds
from .simulation import simulate
from .workload import Workload

__all__ = ["HotKeyDemo", "hot_key_refresh_demo", "HOT_KEY"]

#: The hot user: the first (most popular) key of a `Workload`, and module 03's slow session.
HOT_KEY = "user:0"


@dataclass
class HotKeyDemo:
    """The three runs, the callers that arrived during the refresh, a table and a figure."""

    naive: SimResult
    singleflight: SimResult
    threshold: SimResult
    callers_during_refresh: int
    params: dict[str, Any]
    figure: Any = field(default=None, repr=False)

    @property
    def results(self) -> list[SimResult]:
        return [self.naive, self.singleflight, self.threshold]

    @property
    def table(self) -> Comparison:
        return compare(*self.results)

    def numbers(self) -> dict[str, dict[str, float]]:
        """{cache name: {'db_calls', 'p50', 'p99', 'max'}} in seconds; plain, JSON-able."""
        return {r.name: {"db_calls": r.db_calls, "p50": r.p50, "p99": r.p99, "max": r.max} for r in self.results}

    def __repr__(self) -> str:
        p = self.params
        head = (
            f"Hot key refresh: {p['rate']:g} req/s on one key, ttl {p['ttl']:g} s, refresh takes "
            f"{p['refresh']:g} s; {self.callers_during_refresh:,} callers arrived during the refresh"
        )
        return head + "\n" + repr(self.table)

    def _repr_html_(self) -> str:
        p = self.params
        return (
            f"<p>Hot key refresh: {p['rate']:g} requests/s on one key, ttl {p['ttl']:g} s, refresh takes "
            f"{html.escape(format_seconds(p['refresh']))}; <b>{self.callers_during_refresh:,}</b> callers arrived "
            f"during the refresh.</p>" + self.table._repr_html_()
        )


def hot_key_refresh_demo(
    seed: int = 0,
    *,
    rate: float = 500.0,
    duration: float = 4.0,
    ttl: float = 1.0,
    refresh: float = 2.0,
    wait_threshold: float = 0.1,
    db_capacity: float | None = None,
    plot: bool = True,
) -> HotKeyDemo:
    """Run the hot-key demonstration; returns a `HotKeyDemo` (a table in a notebook).

    Args:
        seed: seeds the (Poisson) arrivals.
        rate: requests per second, all for one hot key.
        duration: seconds of traffic; the key is loaded just before traffic starts.
        ttl: seconds the value stays fresh; it goes stale at t = ttl.
        refresh: seconds a database load takes.
        wait_threshold: how long the third cache lets callers wait for the refresh.
        db_capacity: database queries per second (None: unlimited, so only the call count
            differs for the naive cache, not its queueing).
        plot: also draw the comparison figure (`demo.figure`).
    """
    from swrcache import SWRCache

    if not ttl + refresh <= duration:
        raise ValueError(
            f"duration must cover the stale window and the refresh (ttl + refresh = {ttl + refresh:g} s), got {duration!r}"
        )
    workload = Workload(duration=duration, rate=rate, keys=[HOT_KEY], arrivals="poisson", seed=seed)

    def database() -> SimulatedDatabase:
        return SimulatedDatabase(latency=Fixed(refresh), capacity=db_capacity, seed=seed)

    common = dict(warm=[HOT_KEY], progress=False)
    naive = simulate(workload, lambda load: NaiveCache(load, ttl=ttl), database=database(), name="naive", **common)
    single = simulate(
        workload, lambda load: SingleflightCache(load, ttl=ttl), database=database(), name="singleflight", **common
    )
    swr = simulate(
        workload,
        lambda load: SWRCache(load, capacity=1024, ttl=ttl, stale_ttl=3600.0, wait_threshold=wait_threshold,
                             rng=random.Random(seed)),
        database=database(),
        name=f"singleflight + {format_seconds(wait_threshold)} threshold",
        threshold=wait_threshold,
        **common,
    )
    t = single.times
    during = int(((t >= ttl) & (t < ttl + refresh)).sum())
    demo = HotKeyDemo(
        naive=naive,
        singleflight=single,
        threshold=swr,
        callers_during_refresh=during,
        params=dict(seed=seed, rate=rate, duration=duration, ttl=ttl, refresh=refresh,
                    wait_threshold=wait_threshold, db_capacity=db_capacity),
    )
    if plot:
        from .plots import plot_compare

        demo.figure = plot_compare(
            demo.results,
            threshold=wait_threshold,
            title=(
                f"One hot key goes stale at t={ttl:g} s; its refresh takes {refresh:g} s "
                f"({rate:g} requests/s, {during:,} callers during the refresh)"
            ),
        )
    return demo
