"""Module 05's own figure: the pre-warm (the dashboard itself is `cachesim.shipping_plots`)."""

from __future__ import annotations

import numpy as np

from .lab import DEPLOY_AT, DeployOutcome

__all__ = ["plot_prewarm"]


def plot_prewarm(before: DeployOutcome, after: DeployOutcome, headroom: float):
    """Two panels: critical users' first read after the deploy (sorted, ms), without and with
    pre-warm; and the database's queries per second around the deploy, pre-warm apart, with the
    headroom as a dashed line. Returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    try:  # render inline in a notebook even if pyplot was never imported
        from cachesim.plots import _register_notebook_display

        _register_notebook_display()
    except ImportError:  # pragma: no cover
        pass
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax_cold, ax_db = fig.subplots(1, 2)
    for label, o, color in (("without pre-warm", before, "#e63946"), ("with your plan", after, "#1d3557")):
        r = o.result
        cold = np.sort(r.latencies[r.first_requests(DEPLOY_AT, critical=True)]) * 1000
        ax_cold.plot(np.arange(1, len(cold) + 1), cold, color=color, label=f"{label} (p99 {o.cold_p99 * 1000:.0f} ms)")
    ax_cold.set_xlabel("critical users, sorted")
    ax_cold.set_ylabel("first read after the deploy (ms)")
    ax_cold.legend(fontsize="small")
    r = after.result
    edges = np.arange(DEPLOY_AT - 10, DEPLOY_AT + 31, 1.0)
    for mask, label, color in ((r.db_prewarm, "pre-warm", "#2a9d8f"), (~r.db_prewarm, "requests", "#8d99ae")):
        counts = np.histogram(r.db_times[mask], bins=edges)[0]
        ax_db.step(edges[:-1], counts, where="post", color=color, label=label)
    ax_db.axhline(headroom, color="#2a9d8f", linestyle="--", linewidth=1, label=f"headroom {headroom:g} q/s")
    ax_db.axvline(DEPLOY_AT, color="black", alpha=0.3)
    ax_db.set_xlabel("virtual time (s)")
    ax_db.set_ylabel("database queries/s")
    ax_db.legend(fontsize="small")
    fig.suptitle("Deploy with pre-warm: critical users' cold starts and the database's load")
    return fig
