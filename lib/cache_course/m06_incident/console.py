"""The incident console: a small Python API over the replayed incident.

>>> console = IncidentConsole(seed=0)
>>> console.page_minute()                       # when the page fired, in virtual minutes
16.67
>>> _ = console.act(18, "rollback").act(19, "prewarm", rate=30)
>>> run = console.run()                         # replays the whole incident with your actions
>>> run.healthy(30), console.record().figures.mitigated_at_min
(True, 18.0)

Actions (at a virtual minute, 0 to 40, one decimal): ``rollback`` (the flag: everyone back to the
old cache), ``prewarm`` (``rate=`` loads per second, default 30: load every user's session into
the caches that serve them), ``wait_threshold`` (``seconds=``, default 0.1: a stale read waits at
most that long), ``hotfix`` (the canary's cache coalesces its refreshes and waits at most 0.1 s),
``investigate`` (start root-causing: this takes the responders' attention), ``resolve`` (declare
the incident resolved).
"""

from __future__ import annotations

from typing import Any

from ..incident_record import Action, IncidentRecord, record_from_run
from .scenario import ACTIONS, DURATION_MIN, SLO_THRESHOLD, IncidentRun, simulate, variant

__all__ = ["IncidentConsole"]


class IncidentConsole:
    """The incident of variant ``seed``; add actions with :meth:`act`, then :meth:`run`."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.variant = variant(self.seed)
        self.actions: list[Action] = []

    def act(self, at_minute: float, action: str, **args: Any) -> "IncidentConsole":
        """Schedule ``action`` at virtual minute ``at_minute``; returns the console (chainable).

        Raises:
            ValueError: an unknown action, or a minute outside the incident.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; the console knows {', '.join(ACTIONS)}")
        m = round(float(at_minute), 1)
        if not 0 <= m < DURATION_MIN:
            raise ValueError(f"minute {at_minute!r} is outside the incident (0 to {DURATION_MIN})")
        self.actions.append(Action(m, action, tuple(sorted(args.items()))))
        self.actions.sort(key=lambda a: a.minute)
        return self

    def clear(self) -> None:
        """Forget every action."""
        self.actions.clear()

    def baseline(self) -> IncidentRun:
        """The incident with no action taken."""
        return simulate(self.seed)

    def page_minute(self) -> float | None:
        """When the page alert fired (virtual minutes, two decimals); None if it never did."""
        m = self.baseline().detected_at_min
        return None if m is None else round(m, 2)

    def run(self) -> IncidentRun:
        """Replay the incident with the actions so far (deterministic; the same actions cost nothing twice)."""
        return simulate(self.seed, [(a.minute, a.action, dict(a.args)) for a in self.actions])

    def record(self) -> IncidentRecord:
        """The frozen incident record of the actions so far (see :mod:`cache_course.incident_record`)."""
        return record_from_run(self.run(), tuple(self.actions))

    def dashboard(self, run: IncidentRun | None = None, title: str | None = None):
        """p99 per cohort, database load, events and alert spans (minutes on the x axis)."""
        from cachesim.shipping_plots import plot_dashboard

        run = run or self.run()
        fig = plot_dashboard(run.result, bucket=60.0, alerts=run.alerts, threshold=SLO_THRESHOLD,
                             title=title or f"Incident (variant {self.seed})")
        for ax in fig.axes:
            ax.set_xticks(range(0, DURATION_MIN * 60 + 1, 300), [str(m) for m in range(0, DURATION_MIN + 1, 5)])
        start = self.variant.incident_start_min * 60
        for ax in fig.axes:
            ax.axvline(start, color="#e63946", linestyle=":", linewidth=1.5)
        fig.axes[0].annotate("slow shard", (start, 0.02), xytext=(4, 0), textcoords="offset points",
                             color="#e63946", fontsize="small")
        fig.axes[0].set_yscale("symlog", linthresh=0.1)
        fig.axes[0].set_ylim(bottom=0)
        fig.axes[-1].set_xlabel("virtual minute (minute 0 = 09:00 UTC)")
        return fig

    def __repr__(self) -> str:
        acts = ", ".join(f"{a.minute:g} {a.action}" for a in self.actions) or "no actions yet"
        return f"<IncidentConsole variant {self.seed}: {acts}>"

