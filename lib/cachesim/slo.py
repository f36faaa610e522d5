"""SLOs, error budgets and multiwindow, multi-burn-rate alerts (Google SRE workbook,
"Alerting on SLOs", approach 6).

An `SLO` such as "99.9% of session reads succeed within 200 ms" leaves an error budget of
0.1%. The *burn rate* of a window is its bad fraction divided by the budget: burning at 1
spends the budget exactly over the SLO period (30 days). A rule fires while **both** its
long and its short window burn faster than its threshold (the short window lets the alert
resolve soon after the problem stops):

=========  ============  =============  =====  ====================================
severity   long window   short window   burn   budget spent when it fires
=========  ============  =============  =====  ====================================
page       1 h           5 min          14.4   2% in an hour
page       6 h           30 min         6      5% in six hours
ticket     3 d           6 h            1      10% in three days
=========  ============  =============  =====  ====================================

Two evaluators give the same answer at different costs:

- `evaluate(times, good, ...)` — exact: windows over per-request events, every `step` s;
- `evaluate_counts(bucket_ends, good, total, ...)` — coarse: windows over per-bucket
  counts (a Prometheus scrape, `Telemetry.scraped_counts`, or `synthetic_counts` for
  horizons of days that are not worth simulating request by request). Windows are rounded
  to whole buckets, so fire times agree with the exact mode within a bucket or two.

Hours must run in seconds: `workbook_rules(scale=k)` divides every window by `k` (with
k = 60, one workbook hour is one simulated minute); scale the scenario's times the same
way. Windows reaching back before the run began are filled with healthy traffic at the
run's mean rate (`healthy_history=True`): the service was fine before the scenario starts.

>>> import numpy as np
>>> t = np.arange(0, 7200, 0.5)                      # 2 reads/s for two hours
>>> good = ~((t >= 1800) & (t < 3000) & (np.arange(len(t)) % 10 == 0))   # 10% bad for 20 min
>>> tl = evaluate(t, good, SLO(objective=0.999))
>>> a = tl.first("page"); a.rule, round(a.fired_at - 1800)   # detected after ~8.6 minutes
('page-1h-5m', 520)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["SLO", "BurnRateRule", "WORKBOOK_RULES", "workbook_rules", "Alert", "AlertTimeline", "evaluate",
           "evaluate_counts", "bucket_counts", "synthetic_counts", "precision_recall"]

HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class SLO:
    """`objective` of reads are good (succeed within `threshold` seconds) over `period` s.

    Raises:
        ValueError: objective not in (0, 1) or threshold/period not positive.
    """

    objective: float = 0.99
    threshold: float = 0.2
    period: float = 30 * DAY

    def __post_init__(self) -> None:
        if not 0 < self.objective < 1:
            raise ValueError(f"objective must be in (0, 1), got {self.objective!r}")
        if not (self.threshold > 0 and self.period > 0):
            raise ValueError("threshold and period must be positive")

    @property
    def error_budget(self) -> float:
        """The fraction of reads allowed to be bad (1 - objective)."""
        return 1.0 - self.objective

    def budget_spent(self, good, total=None) -> float:
        """Budget spent by these reads, as a fraction of what their own volume allows:
        bad / (error_budget * reads). 1.0 means exactly on budget. Give per-request
        `good` flags, or counts `good` of `total`."""
        if total is None:
            g = np.asarray(good, dtype=bool)
            bad, n = int((~g).sum()), len(g)
        else:
            n = float(np.sum(total))
            bad = n - float(np.sum(good))
        return bad / (self.error_budget * n) if n else 0.0


@dataclass(frozen=True)
class BurnRateRule:
    """Fire while both windows (seconds) burn faster than `burn_rate`."""

    name: str
    severity: str  # "page" | "ticket"
    long_window: float
    short_window: float
    burn_rate: float


#: The workbook's recommended rules (windows in real seconds).
WORKBOOK_RULES = (
    BurnRateRule("page-1h-5m", "page", 1 * HOUR, 5 * 60.0, 14.4),
    BurnRateRule("page-6h-30m", "page", 6 * HOUR, 30 * 60.0, 6.0),
    BurnRateRule("ticket-3d-6h", "ticket", 3 * DAY, 6 * HOUR, 1.0),
)


def workbook_rules(scale: float = 1.0) -> tuple[BurnRateRule, ...]:
    """`WORKBOOK_RULES` with every window divided by `scale` (burn rates unchanged).

    Raises:
        ValueError: scale not positive.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return tuple(BurnRateRule(r.name, r.severity, r.long_window / scale, r.short_window / scale, r.burn_rate)
                 for r in WORKBOOK_RULES)


@dataclass(frozen=True)
class Alert:
    """One firing of `rule`: from `fired_at` to `resolved_at` (None: still firing at the end)."""

    rule: str
    severity: str
    fired_at: float
    resolved_at: float | None


@dataclass(frozen=True)
class AlertTimeline:
    """All alerts of one evaluation, in firing order, and how it was evaluated."""

    alerts: tuple[Alert, ...]
    mode: str  # "exact" | "coarse"
    step: float

    def fired(self, severity: str | None = None, start: float = -np.inf, end: float = np.inf) -> list[Alert]:
        """Alerts (of `severity`, if given) that fired within [start, end)."""
        return [a for a in self.alerts if (severity is None or a.severity == severity) and start <= a.fired_at < end]

    def first(self, severity: str | None = None, start: float = -np.inf) -> Alert | None:
        """The first alert (of `severity`) firing at or after `start`, or None."""
        hits = self.fired(severity, start)
        return min(hits, key=lambda a: a.fired_at) if hits else None

    def detection_time(self, incident_start: float, severity: str = "page") -> float | None:
        """Seconds from `incident_start` to the first `severity` alert after it (None: none)."""
        a = self.first(severity, incident_start)
        return None if a is None else a.fired_at - incident_start

    def __str__(self) -> str:
        if not self.alerts:
            return "no alerts"
        return "\n".join(f"{a.severity:<6} {a.rule:<13} fired {a.fired_at:9.1f} s  "
                         f"{'resolved ' + format(a.resolved_at, '9.1f') + ' s' if a.resolved_at is not None else 'still firing'}"
                         for a in self.alerts)


def _timeline(eval_t: np.ndarray, firing: dict[BurnRateRule, np.ndarray], mode: str, step: float) -> AlertTimeline:
    alerts = []
    for rule, f in firing.items():
        f = np.concatenate([[False], f, [False]])
        edges = np.flatnonzero(np.diff(f.astype(np.int8)))
        for up, down in zip(edges[::2], edges[1::2]):
            resolved = float(eval_t[down]) if down < len(eval_t) else None
            alerts.append(Alert(rule.name, rule.severity, float(eval_t[up]), resolved))
    alerts.sort(key=lambda a: (a.fired_at, a.rule))
    return AlertTimeline(tuple(alerts), mode, step)


def _fire(bad_w: np.ndarray, total_w: np.ndarray, slo: SLO, burn: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total_w > 0, bad_w / total_w, 0.0)
    return ratio > burn * slo.error_budget


def evaluate(times, good, slo: SLO = SLO(), rules: Sequence[BurnRateRule] = WORKBOOK_RULES, *, step: float = 10.0,
             end: float | None = None, healthy_history: bool = True) -> AlertTimeline:
    """Exact evaluation over per-request events (completion `times`, `good` flags), every
    `step` seconds from `step` to `end` (default: the last event). Window = (t - W, t].

    Raises:
        ValueError: lengths differ or step not positive.
    """
    t = np.asarray(times, dtype=float)
    g = np.asarray(good, dtype=bool)
    if len(t) != len(g) or not step > 0:
        raise ValueError("times and good must have equal lengths, and step must be positive")
    order = np.argsort(t, kind="stable")
    t, g = t[order], g[order]
    end = float(t[-1]) if end is None and len(t) else float(end or 0.0)
    ev = np.arange(step, end + step * 0.5, step)
    cum_bad = np.concatenate([[0], np.cumsum(~g)])
    rate = len(t) / end if end > 0 else 0.0
    firing = {}
    for rule in rules:
        both = np.ones(len(ev), dtype=bool)
        for w in (rule.long_window, rule.short_window):
            hi = np.searchsorted(t, ev, side="right")
            lo = np.searchsorted(t, ev - w, side="right")
            total = (hi - lo).astype(float)
            if healthy_history:
                total += np.maximum(0.0, w - ev) * rate
            both &= _fire((cum_bad[hi] - cum_bad[lo]).astype(float), total, slo, rule.burn_rate)
        firing[rule] = both
    return _timeline(ev, firing, "exact", step)


def bucket_counts(times, good, bucket: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket end times, good counts, total counts) of per-request events in buckets of
    `bucket` seconds over [0, end)."""
    edges = np.arange(0.0, end + bucket * 0.5, bucket)
    t = np.asarray(times, dtype=float)
    g = np.asarray(good, dtype=bool)
    total = np.histogram(t, bins=edges)[0].astype(float)
    goods = np.histogram(t[g], bins=edges)[0].astype(float)
    return edges[1:], goods, total


def evaluate_counts(bucket_ends, good, total, slo: SLO = SLO(), rules: Sequence[BurnRateRule] = WORKBOOK_RULES,
                    *, healthy_history: bool = True) -> AlertTimeline:
    """Coarse evaluation over per-bucket counts (evenly spaced `bucket_ends`); evaluated
    at each bucket end, each window rounded to a whole number of buckets (at least one).

    Raises:
        ValueError: empty input or lengths differ.
    """
    ends = np.asarray(bucket_ends, dtype=float)
    gd, tot = np.asarray(good, dtype=float), np.asarray(total, dtype=float)
    if not (len(ends) == len(gd) == len(tot)) or not len(ends):
        raise ValueError("bucket_ends, good and total must be non-empty and of equal length")
    width = float(ends[1] - ends[0]) if len(ends) > 1 else float(ends[0])
    cum_bad = np.concatenate([[0.0], np.cumsum(tot - gd)])
    cum_tot = np.concatenate([[0.0], np.cumsum(tot)])
    rate = cum_tot[-1] / (len(ends) * width)
    idx = np.arange(1, len(ends) + 1)
    firing = {}
    for rule in rules:
        both = np.ones(len(ends), dtype=bool)
        for w in (rule.long_window, rule.short_window):
            k = max(1, int(round(w / width)))
            lo = np.maximum(idx - k, 0)
            total_w = cum_tot[idx] - cum_tot[lo]
            if healthy_history:
                total_w = total_w + np.maximum(0, k - idx) * width * rate
            both &= _fire(cum_bad[idx] - cum_bad[lo], total_w, slo, rule.burn_rate)
        firing[rule] = both
    return _timeline(ends, firing, "coarse", width)


def synthetic_counts(duration: float, rate: float, bucket: float, bad_fraction, *,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A coarse traffic model for long horizons: per bucket, Poisson(rate * bucket) reads,
    of which Binomial(n, bad_fraction(t)) are bad (`bad_fraction`: a number or a function
    of the bucket's start time). Returns (bucket ends, good, total), like `bucket_counts`."""
    rng = np.random.default_rng(seed)
    starts = np.arange(0.0, duration, bucket)
    total = rng.poisson(rate * bucket, size=len(starts)).astype(float)
    frac = np.array([bad_fraction(s) for s in starts]) if callable(bad_fraction) else np.full(len(starts), bad_fraction)
    bad = rng.binomial(total.astype(np.int64), np.clip(frac, 0.0, 1.0)).astype(float)
    return starts + bucket, total - bad, total


def precision_recall(outcomes: Sequence[tuple[bool, bool]]) -> tuple[float, float]:
    """(precision, recall) of alerting from (should_alert, did_alert) pairs; each is 1.0
    when its denominator is empty."""
    tp = sum(1 for s, d in outcomes if s and d)
    fp = sum(1 for s, d in outcomes if d and not s)
    fn = sum(1 for s, d in outcomes if s and not d)
    return (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)
