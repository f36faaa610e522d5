"""A dashboard figure for a fleet run: p99 per cohort, database load per cohort, alerts.

Like `cachesim.plots`, it needs no display and returns a matplotlib `Figure`.

>>> import matplotlib; matplotlib.use("Agg")
>>> from cachesim import Workload, SimulatedDatabase, NaiveCache
>>> from cachesim.fleet import Fleet
>>> r = Fleet(Workload(duration=120, rate=20, keys=100, seed=1), lambda load: NaiveCache(load, ttl=10),
...           servers=2, database=SimulatedDatabase(latency=0.02)).run()
>>> fig = plot_dashboard(r, bucket=10)
>>> [ax.get_ylabel() for ax in fig.axes]
['p99 latency (s)', 'database queries/s']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .fleet_result import FleetResult
    from .slo import AlertTimeline

__all__ = ["plot_dashboard"]

_COLORS = ("#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93", "#8d99ae")
_ALERT = {"page": "#e63946", "ticket": "#f4a261"}


def plot_dashboard(result: "FleetResult", *, bucket: float = 60.0, alerts: "AlertTimeline | None" = None,
                   threshold: float | None = None, title: str | None = None) -> "Figure":
    """Two panels over virtual time: p99 latency per cohort (with the SLO `threshold` as a
    dashed line) and database queries per second per cohort; fleet events as vertical
    lines; `alerts` (an `AlertTimeline`) as shaded spans, red for pages, amber for tickets.

    Raises:
        ValueError: `bucket` not positive.
    """
    from matplotlib.figure import Figure

    try:  # render inline in a notebook even if pyplot was never imported
        from .plots import _register_notebook_display

        _register_notebook_display()
    except ImportError:  # pragma: no cover - a private helper of cachesim.plots
        pass
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax_lat, ax_db = fig.subplots(2, 1, sharex=True)
    t, p99 = result.percentile_timeline(bucket, 99.0, by="cohort")
    for i, (label, vals) in enumerate(p99.items()):
        ax_lat.step(t, vals, where="post", color=_COLORS[i % len(_COLORS)], label=f"{label} p99")
    if threshold is not None:
        ax_lat.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="SLO threshold")
    tq, qps = result.load_timeline(bucket, by="cohort")
    for i, (label, vals) in enumerate(qps.items()):
        ax_db.step(tq, vals, where="post", color=_COLORS[i % len(_COLORS)], label=label)
    for ax in (ax_lat, ax_db):
        for when, _what in result.events:
            ax.axvline(when, color="black", alpha=0.3, linewidth=1)
        if alerts is not None:
            for a in alerts.alerts:
                end = a.resolved_at if a.resolved_at is not None else result.duration
                ax.axvspan(a.fired_at, end, color=_ALERT.get(a.severity, "grey"), alpha=0.15)
        ax.grid(True, alpha=0.3)
    ax_lat.set_ylabel("p99 latency (s)")
    ax_db.set_ylabel("database queries/s")
    ax_db.set_xlabel("virtual time (s)")
    ax_lat.legend(loc="upper right", fontsize="small")
    ax_db.legend(loc="upper right", fontsize="small")
    ax_lat.set_title(title or f"{result.name}: {result.servers} servers, {len(result.cohorts)} cohorts")
    return fig
