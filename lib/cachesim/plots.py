"""Matplotlib figures for simulation results. No display needed: every function returns a
`Figure` (and draws on `ax` when given one); in a notebook the inline backend shows it.

>>> import matplotlib; matplotlib.use("Agg")
>>> from cachesim import Workload, SimulatedDatabase, NaiveCache, simulate, slowdown
>>> r = simulate(Workload(duration=5, rate=50, keys=20, seed=1),
...              lambda load: NaiveCache(load, ttl=1),
...              database=SimulatedDatabase(latency=0.02, faults=[slowdown(2, 1, 10)]))
>>> fig = plot_db_load(r)
>>> fig.axes[0].get_ylabel()
'database queries per second'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from .results import SimResult, format_seconds

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_latency", "plot_db_load", "plot_compare"]

_FAULT_COLORS = {"slow": "#f4a261", "errors": "#e76f51", "outage": "#9d0208"}
_RUN_COLORS = ("#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93", "#8d99ae")


def _register_notebook_display() -> None:
    """In IPython, make a returned Figure render as PNG even if pyplot was never imported
    (the inline backend registers this formatter only when pyplot is set up)."""
    import sys

    if "IPython" not in sys.modules:
        return
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
        from matplotlib.figure import Figure

        shell = get_ipython()
        if shell is None:
            return
        png = shell.display_formatter.formatters["image/png"]
        if png.lookup_by_type(Figure) is None:
            raise KeyError
    except KeyError:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))
    except Exception:
        return


def _new_figure(figsize):
    """A Figure not registered with pyplot: needs no display, leaves no global state, is
    garbage-collected; Jupyter still renders it (as PNG, see `_register_notebook_display`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _register_notebook_display()
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _new_ax(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    fig = _new_figure(figsize)
    return fig, fig.add_subplot()


def _ecdf(r: SimResult):
    lat = r.sorted_latencies
    n = len(lat)
    y = np.arange(1, n + 1) / n if n else np.zeros(0)
    return lat, y


def plot_latency(
    result: SimResult, *, threshold: float | None = None, ax: "Axes | None" = None, log: bool | None = None
) -> "Figure":
    """Latency distribution as a complementary CDF (the tail, log scale) with p50/p99 and the
    threshold marked.

    Args:
        result: a `SimResult`.
        threshold: seconds to mark with a vertical line (default: `result.threshold`).
        ax: draw on this matplotlib Axes instead of a new figure.
        log: log-scale the y axis (default True: tails are what matter).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from cachesim import Workload, NaiveCache, simulate
    >>> r = simulate(Workload(duration=2, rate=50, keys=5, seed=1), lambda l: NaiveCache(l, ttl=1))
    >>> plot_latency(r, threshold=0.1).axes[0].get_xlabel()
    'request latency (ms)'
    """
    fig, ax = _new_ax(ax, (7, 4.8))
    _latency_curve(ax, result, _RUN_COLORS[0], label=result.name)
    threshold = result.threshold if threshold is None else threshold
    _decorate_latency(ax, [result], threshold, log)
    ax.set_title(f"Latency distribution: {result.name} ({result.requests:,} requests)")
    return fig


def _latency_curve(ax, r: SimResult, color: str, label: str) -> None:
    lat, y = _ecdf(r)
    if not len(lat):
        return
    # Fraction of requests slower than x ("1 in N requests waits at least this long").
    surv = 1.0 - y + 1.0 / len(lat)
    ax.step(lat * 1000.0, surv, where="post", color=color, lw=2,
            label=f"{label}: p50 {format_seconds(r.p50)}, p99 {format_seconds(r.p99)}, max {format_seconds(r.max)}")
    ax.plot([r.p99 * 1000.0], [0.01], marker="o", color=color, ms=6)


def _decorate_latency(ax, results: Sequence[SimResult], threshold: float | None, log: bool | None) -> None:
    if threshold is not None:
        ax.axvline(threshold * 1000.0, color="black", ls="--", lw=1.2, label=f"threshold {format_seconds(threshold)}")
    ax.axhline(0.01, color="grey", ls=":", lw=1, label="p99 line (1 in 100 slower)")
    if log is None or log:
        n = max((r.requests for r in results), default=1)
        ax.set_yscale("log")
        ax.set_ylim(max(0.5 / max(n, 1), 1e-6), 1.2)
    ax.set_xlabel("request latency (ms)")
    ax.set_ylabel("fraction of requests slower")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncol=1, frameon=False)


def _shade_faults(ax, result: SimResult) -> None:
    for i, f in enumerate(result.faults):
        color = _FAULT_COLORS.get(f.kind, "#cccccc")
        ax.axvspan(f.at, f.end, color=color, alpha=0.25, lw=0, label=f"fault: {f.label()} ({f.at:g}-{f.end:g} s)")


def plot_db_load(result: SimResult, *, ax: "Axes | None" = None, in_flight: bool = True) -> "Figure":
    """Database queries per second over time, with fault windows shaded and labelled, and
    (on a second axis) queries in flight."""
    fig, ax = _new_ax(ax, (8, 5))
    t, q = result.qps_t, result.qps
    width = float(t[1] - t[0]) if len(t) > 1 else 1.0
    ax.step(np.append(t, t[-1] + width) if len(t) else t, np.append(q, q[-1]) if len(q) else q,
            where="post", color=_RUN_COLORS[0], lw=1.8, label=f"queries/s ({width:g} s buckets)")
    _shade_faults(ax, result)
    ax.set_xlabel("time since traffic started (s)")
    ax.set_ylabel("database queries per second")
    ax.set_xlim(0, max(result.duration, float(t[-1] + width) if len(t) else 0.0))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if in_flight and len(result.in_flight_t):
        ax2 = ax.twinx()
        ax2.step(result.in_flight_t, result.in_flight, where="post", color="#2a9d8f", lw=1, alpha=0.8,
                 label="queries in flight")
        ax2.set_ylabel("queries in flight")
        ax2.set_ylim(bottom=0)
        from matplotlib.ticker import MaxNLocator

        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no 0.5 query in flight
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncol=2, frameon=False)
    ax.set_title(f"Database load: {result.name} ({result.db_calls:,} calls)")
    return fig


def plot_compare(
    results: Sequence[SimResult], *, threshold: float | None = None, title: str | None = None
) -> "Figure":
    """Two (or more) runs in one figure: latency tails on the left, cumulative database calls
    on the right (fault windows shaded).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from cachesim import Workload, NaiveCache, simulate
    >>> w = Workload(duration=2, rate=50, keys=5, seed=1)
    >>> a = simulate(w, lambda l: NaiveCache(l, ttl=0.5), name="ttl 0.5 s")
    >>> b = simulate(w, lambda l: NaiveCache(l, ttl=5), name="ttl 5 s")
    >>> [ax.get_title() for ax in plot_compare([a, b]).axes]
    ['Latency: fraction of requests slower than x', 'Database calls over time']
    """
    results = list(results)
    if not results:
        raise ValueError("results: give at least one SimResult")
    fig = _new_figure((13, 5.4))
    ax_l, ax_r = fig.subplots(1, 2)
    styles = ("-", "--", ":", "-.")
    for k, (r, color) in enumerate(zip(results, _RUN_COLORS * 3)):
        _latency_curve(ax_l, r, color, r.name)
        # Cumulative database calls: overlapping runs stay visible (different dashes).
        q = r.db_query_times
        end = max(r.duration, float(r.times[-1] + r.latencies.max()) if r.requests else 0.0)
        xs = np.concatenate([[0.0], q, [end]])
        ys = np.concatenate([[0], np.arange(1, len(q) + 1), [len(q)]])
        ax_r.step(xs, ys, where="post", color=color, lw=2.4 - 0.4 * k, ls=styles[k % len(styles)],
                  label=f"{r.name}: {r.db_calls:,} call{'' if r.db_calls == 1 else 's'}")
    if threshold is None:
        thresholds = {r.threshold for r in results if r.threshold is not None}
        threshold = thresholds.pop() if len(thresholds) == 1 else None
    _decorate_latency(ax_l, results, threshold, None)
    ax_l.set_title("Latency: fraction of requests slower than x")
    # Faults are shared when the runs used the same database schedule; shade the first's.
    _shade_faults(ax_r, results[0])
    ax_r.set_xlabel("time since traffic started (s)")
    ax_r.set_ylabel("database calls so far")
    ax_r.set_yscale("symlog", linthresh=1.0)
    ax_r.set_ylim(bottom=0)
    ax_r.grid(True, alpha=0.3)
    ax_r.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, frameon=False)
    ax_r.set_title("Database calls over time")
    if title:
        fig.suptitle(title)
    return fig
