"""Canary judgement: is the canary worse than the control it ran beside?

Both cohorts are compared on the same simulated minutes, as canary analysis services
(Kayenta, Argo Rollouts' analysis) do:

- latency: a one-sided Mann–Whitney U test (is the canary's latency stochastically larger?)
  with the normal approximation, tie correction and continuity correction — latencies
  from a cache have huge ties (every hit is 0 ms);
- the p99 difference (canary - control) with a seeded bootstrap interval;
- error rates: a one-sided two-proportion z-test;
- database load: calls per request, canary / control.

Decision (`judge`): **halt** if the canary is significantly slower *and* its p99 is worse
by more than the margin with confidence (interval's lower bound above the margin), or has
significantly more errors (by more than `error_margin`), or loads the database more than
`max_db_ratio` times as much per request. **promote** if none of that, and the interval
shows the p99 is not worse by more than the margin (upper bound below it) and the error
rate is not worse beyond `error_margin`.

Why the U test may not halt on its own: when cohorts are users (a flag's buckets), the two
cohorts hold *different users*, and a cache's hit ratio depends on how popular its users
are; requests of one user are not independent. On tens of thousands of requests the U test
then detects that mix even for an identical canary. It is evidence of a slowdown; the
bootstrap interval on the tail decides whether the slowdown matters. Otherwise **continue** (collect more minutes).
The two tests share `alpha` (Bonferroni: alpha/2 each), so an identical canary is halted
with probability at most about alpha/2.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> control, slow = rng.exponential(0.02, 4000), rng.exponential(0.03, 4000)
>>> v = judge(control, slow, seed=1)
>>> v.decision, v.p_latency < 0.001
('halt', True)
>>> judge(control, rng.exponential(0.02, 4000), seed=1).decision
'promote'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .results import format_seconds, nearest_rank

if TYPE_CHECKING:  # pragma: no cover
    from .fleet_control import Call
    from .fleet_result import FleetResult
    from .rollout import Rollout

__all__ = ["CanaryVerdict", "mann_whitney_u", "bootstrap_quantile_diff", "two_proportion_test", "judge", "judge_fleet",
           "auto_canary"]


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_u(x, y) -> tuple[float, float, float]:
    """One-sided Mann–Whitney U test of H1: `y` tends to be larger than `x`.

    Returns (U of y, z, p-value); normal approximation with tie and continuity correction.
    All values tied (no variance): z = 0, p = 1.

    Raises:
        ValueError: either sample is empty.

    >>> u, z, p = mann_whitney_u([1, 2, 3, 4], [5, 6, 7, 8])
    >>> u, round(p, 4)
    (16.0, 0.0152)
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples must be non-empty")
    pooled = np.concatenate([x, y])
    _, inverse, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    midranks = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = midranks[inverse]
    u = float(ranks[n1:].sum() - n2 * (n2 + 1) / 2.0)
    n = n1 + n2
    ties = float((counts.astype(float) ** 3 - counts).sum())
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return u, 0.0, 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / math.sqrt(var)
    return u, z, _norm_sf(z)


def bootstrap_quantile_diff(x, y, q: float = 99.0, *, n_boot: int = 2000, ci: float = 0.95,
                            seed: int = 0) -> tuple[float, float, float]:
    """(observed, low, high): the nearest-rank q-th percentile of `y` minus that of `x`, with a
    percentile bootstrap interval at level `ci`.

    Each resample's q-th percentile is drawn exactly without materialising the resample:
    the k-th smallest of n draws with replacement from sorted values is
    ``sorted[floor(n * B)]`` with B ~ Beta(k, n - k + 1). Deterministic for a given seed.

    Raises:
        ValueError: an empty sample, or q / ci / n_boot out of range.
    """
    if not 0 < q <= 100 or not 0 < ci < 1 or n_boot < 10:
        raise ValueError(f"need 0 < q <= 100, 0 < ci < 1, n_boot >= 10; got q={q}, ci={ci}, n_boot={n_boot}")
    xs, ys = np.sort(np.asarray(x, dtype=float).ravel()), np.sort(np.asarray(y, dtype=float).ravel())
    if not len(xs) or not len(ys):
        raise ValueError("both samples must be non-empty")
    rng = np.random.default_rng(seed)

    def draws(s: np.ndarray) -> np.ndarray:
        n = len(s)
        k = max(1, math.ceil(q / 100.0 * n - 1e-9))
        idx = np.minimum((n * rng.beta(k, n - k + 1, size=n_boot)).astype(np.int64), n - 1)
        return s[idx]

    diffs = draws(ys) - draws(xs)
    lo, hi = np.quantile(diffs, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return nearest_rank(ys, q) - nearest_rank(xs, q), float(lo), float(hi)


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """One-sided test of H1: rate k2/n2 is larger than k1/n1. Returns (z, p-value);
    p = 1 when neither group has an event.

    Raises:
        ValueError: a group with no trials.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both groups need at least one trial")
    p = (k1 + k2) / (n1 + n2)
    if p in (0.0, 1.0):
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return z, _norm_sf(z)


@dataclass(frozen=True)
class CanaryVerdict:
    """The judgement and every statistic behind it (immutable).

    `decision` is "promote", "halt" or "continue" and `reason` says why in one line.
    Latencies in seconds: `p99_control`, `p99_canary`, `p99_diff` (canary - control) and its
    bootstrap interval `p99_diff_ci`, the `margin` used; Mann–Whitney `u`, `z_latency`,
    one-sided `p_latency`; `error_rate_control` / `error_rate_canary` and the one-sided
    `p_errors`; `db_ratio` (database calls per request, canary / control); request counts
    `n_control` / `n_canary`; `alpha`. Statistics are NaN when there were too few requests.
    """

    decision: str  # "promote" | "halt" | "continue"
    reason: str
    n_control: int
    n_canary: int
    p99_control: float
    p99_canary: float
    p99_diff: float
    p99_diff_ci: tuple[float, float]
    margin: float
    u: float
    z_latency: float
    p_latency: float
    error_rate_control: float
    error_rate_canary: float
    p_errors: float
    db_ratio: float
    alpha: float

    def __str__(self) -> str:
        return f"{self.decision}: {self.reason}"


def judge(control_latencies, canary_latencies, control_errors=None, canary_errors=None, *,
          control_db_calls: int | None = None, canary_db_calls: int | None = None, alpha: float = 0.05,
          margin: float | None = None, error_margin: float = 0.002, max_db_ratio: float = 1.5,
          min_samples: int = 200, n_boot: int = 2000, seed: int = 0) -> CanaryVerdict:
    """Judge a canary from per-request latencies (seconds) and error flags of both cohorts.

    Args:
        margin: how much worse (seconds) the canary's p99 may be; default
            max(5 ms, 10% of the control's p99).
        error_margin: how much higher its error rate may be (absolute).
        max_db_ratio: database calls per request, canary / control, above which it halts.
        min_samples: below this many requests in either cohort the decision is "continue".
        seed: seeds the bootstrap.

    Raises:
        ValueError: alpha not in (0, 1), or mismatched latency / error lengths.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    xc, yc = np.asarray(control_latencies, dtype=float), np.asarray(canary_latencies, dtype=float)
    ec = np.zeros(len(xc), bool) if control_errors is None else np.asarray(control_errors, dtype=bool)
    ey = np.zeros(len(yc), bool) if canary_errors is None else np.asarray(canary_errors, dtype=bool)
    if len(ec) != len(xc) or len(ey) != len(yc):
        raise ValueError("errors must have one flag per latency")
    n1, n2 = len(xc), len(yc)
    base = dict(n_control=n1, n_canary=n2, alpha=alpha)
    if min(n1, n2) < max(min_samples, 1):
        nan = float("nan")
        return CanaryVerdict("continue", f"not enough requests yet ({n1} control, {n2} canary; need {min_samples})",
                             p99_control=nan, p99_canary=nan, p99_diff=nan, p99_diff_ci=(nan, nan),
                             margin=nan, u=nan, z_latency=nan, p_latency=nan, error_rate_control=nan,
                             error_rate_canary=nan, p_errors=nan, db_ratio=nan, **base)
    a = alpha / 2  # Bonferroni over the latency and the error test
    u, z, p_lat = mann_whitney_u(xc, yc)
    diff, lo, hi = bootstrap_quantile_diff(xc, yc, 99.0, n_boot=n_boot, ci=1 - 2 * a, seed=seed)
    p99c, p99y = nearest_rank(np.sort(xc), 99), nearest_rank(np.sort(yc), 99)
    m = max(0.005, 0.1 * p99c) if margin is None else float(margin)
    k1, k2 = int(ec.sum()), int(ey.sum())
    r1, r2 = k1 / n1, k2 / n2
    _, p_err = two_proportion_test(k1, n1, k2, n2)
    se = math.sqrt(r1 * (1 - r1) / n1 + r2 * (1 - r2) / n2)
    err_hi = (r2 - r1) + 1.959963984540054 * se
    if control_db_calls is not None and canary_db_calls is not None:
        per_c, per_y = control_db_calls / n1, canary_db_calls / n2
        db_ratio = per_y / per_c if per_c > 0 else (math.inf if per_y > 0 else 1.0)
    else:
        db_ratio = 1.0
    stats = dict(p99_control=p99c, p99_canary=p99y, p99_diff=diff, p99_diff_ci=(lo, hi), margin=m, u=u,
                 z_latency=z, p_latency=p_lat, error_rate_control=r1, error_rate_canary=r2, p_errors=p_err,
                 db_ratio=db_ratio, **base)
    if p_lat < a and lo > m:
        reason = (f"canary slower (Mann-Whitney p={p_lat:.2g}); p99 {format_seconds(p99y)} vs "
                  f"{format_seconds(p99c)}, +{format_seconds(lo)} or more (margin {format_seconds(m)})")
        return CanaryVerdict("halt", reason, **stats)
    if p_err < a and r2 - r1 > error_margin:
        return CanaryVerdict("halt", f"canary errors {r2:.2%} vs {r1:.2%} (p={p_err:.2g})", **stats)
    if db_ratio > max_db_ratio:
        return CanaryVerdict("halt", f"canary loads the database {db_ratio:.2f}x per request "
                                     f"(limit {max_db_ratio:g}x)", **stats)
    if hi <= m and err_hi <= error_margin:
        return CanaryVerdict("promote", f"p99 {format_seconds(p99y)} vs {format_seconds(p99c)} (at most "
                                        f"+{format_seconds(max(hi, 0.0))}); errors {r2:.2%} vs {r1:.2%}; "
                                        f"db {db_ratio:.2f}x", **stats)
    return CanaryVerdict("continue", f"inconclusive: p99 difference up to +{format_seconds(max(hi, 0.0))} "
                                     f"(margin {format_seconds(m)}), error difference up to {err_hi:+.2%}", **stats)


def judge_fleet(result: "FleetResult", start: float | None = None, end: float | None = None, *,
                control: str = "control", canary: str = "canary", **kwargs) -> CanaryVerdict:
    """`judge` the two cohorts of a `FleetResult` over the same window [start, end)
    (arrival times; database calls per cohort in the same window). Extra keyword
    arguments go to `judge`.

    Raises:
        KeyError: a cohort the result does not have.
    """
    mc = result.mask(cohort=control, start=start, end=end)
    my = result.mask(cohort=canary, start=start, end=end)
    sc = result.stats(control, cohort=control, start=start, end=end)
    sy = result.stats(canary, cohort=canary, start=start, end=end)
    return judge(result.latencies[mc], result.latencies[my], result.errors[mc], result.errors[my],
                 control_db_calls=sc.db_calls, canary_db_calls=sy.db_calls, **kwargs)


def auto_canary(rollout: "Rollout", checks: Sequence[float], *, window: float = 300.0, settle: float = 5.0,
                control: str | None = None, canary: str | None = None,
                **kwargs) -> tuple[list["Call"], list[tuple[float, CanaryVerdict, str]]]:
    """Automatic canary analysis during a `Fleet` run: at each virtual time in `checks`,
    judge the requests of the current stage (at most the last `window` seconds; arrivals up
    to `settle` s before the check, so slow requests have finished) and act: **promote**
    advances `rollout` one stage, **halt** rolls it back (and stops checking),
    **continue** waits for the next check.

    Returns (the `Call` events to give the fleet, the log it fills: (t, verdict, action)).
    Extra keyword arguments go to `judge`.
    """
    from .fleet_control import Call

    log: list[tuple[float, CanaryVerdict, str]] = []
    state = {"since": 0.0, "stopped": False}
    on = canary or rollout.on
    off = control or rollout.off

    def check(ctl) -> None:
        if state["stopped"]:
            return
        t = ctl.now()
        v = judge_fleet(ctl.result_so_far(), max(state["since"], t - window), t - settle,
                        control=off, canary=on, **kwargs)
        if v.decision == "promote" and rollout.percent < 100:
            rollout.advance(t)
            state["since"], action = t, f"advance to {rollout.percent:g}%"
        elif v.decision == "halt":
            rollout.rollback(t)
            state["stopped"], action = True, "rollback"
        else:
            action = "wait"
        log.append((t, v, action))
        ctl.log(f"canary check: {v.decision} -> {action}")

    return [Call(t, check, label="canary check") for t in checks], log
