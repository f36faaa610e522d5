"""Results of a simulation: latency percentiles, database load, cache counters, SLO checks.

Percentiles use the nearest-rank definition (the smallest latency with at least q% of the
requests at or below it): always an observed latency, never an interpolation.

>>> import numpy as np
>>> nearest_rank(np.array([0.1, 0.2, 0.3, 0.4]), 50)
0.2
>>> format_seconds(0.1), format_seconds(2.0), format_seconds(0.0)
('100 ms', '2.00 s', '0 ms')
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .database import Fault, SimulatedDatabase
    from .workload import Workload

__all__ = ["SimResult", "SLOReport", "Comparison", "compare", "nearest_rank", "format_seconds"]

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9))


def nearest_rank(sorted_values: np.ndarray, q: float) -> float:
    """The q-th percentile of already sorted values, nearest-rank (0.0 for no values)."""
    n = len(sorted_values)
    if n == 0:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * n - 1e-9))
    return float(sorted_values[min(rank, n) - 1])


def format_seconds(s: float) -> str:
    """Human units: '85.0 ms' below a second, '2.00 s' above."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    if s < 1.0:
        ms = s * 1000.0
        return f"{ms:.0f} ms" if ms >= 10 or ms == 0 else f"{ms:.2g} ms"
    return f"{s:.2f} s"


@dataclass
class SLOReport:
    """Each objective with its target, the measured value and whether it held."""

    rows: list[tuple[str, float, float, bool]]

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        lines = [f"SLO {'met' if self.passed else 'MISSED'}"]
        for name, target, actual, ok in self.rows:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {name}: {_fmt(name, actual)} (target <= {_fmt(name, target)})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{html.escape(_fmt(n, t))}</td><td>{html.escape(_fmt(n, a))}</td>"
            f"<td style='color:{'green' if ok else 'crimson'}'>{'met' if ok else 'missed'}</td></tr>"
            for n, t, a, ok in self.rows
        )
        return (
            "<table><thead><tr><th>objective</th><th>target</th><th>actual</th><th></th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )


def _fmt(name: str, value: float) -> str:
    if name in ("error_rate",):
        return f"{value:.3%}"
    if name in ("db_calls", "db_peak_qps"):
        return f"{value:g}"
    return format_seconds(value)


@dataclass
class SimResult:
    """Everything measured in one run. Times are seconds since traffic started.

    Grading tests assert against the attributes (`p99`, `db_calls`, `cache_stats`...) or
    `slo(...)`; in a notebook the object renders as a table.
    """

    name: str
    requests: int
    duration: float
    times: np.ndarray
    latencies: np.ndarray
    errors: np.ndarray
    critical: np.ndarray
    db_calls: int
    db_errors: int
    db_max_in_flight: int
    qps_t: np.ndarray
    qps: np.ndarray
    in_flight_t: np.ndarray
    in_flight: np.ndarray
    db_query_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    faults: list = field(default_factory=list)
    fault_events: list = field(default_factory=list)
    cache_stats: dict | None = None
    threshold: float | None = None
    seed: int = 0
    error_kinds: dict = field(default_factory=dict)  # exception class name -> requests
    first_errors: dict = field(default_factory=dict)  # exception class name -> first message
    _sorted: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        *,
        name: str,
        workload: "Workload",
        times: np.ndarray,
        latencies: np.ndarray,
        errors: np.ndarray,
        critical: np.ndarray,
        database: "SimulatedDatabase",
        t0: float,
        cache_stats: dict | None,
        threshold: float | None,
        error_kinds: dict | None = None,
        first_errors: dict | None = None,
    ) -> "SimResult":
        starts = np.asarray(database._log.starts, dtype=float) - t0
        measured = int((starts >= 0).sum())
        end = float(max(workload.duration, (times + latencies).max() if len(times) else 0.0))
        qps_t, qps = database.qps_timeline(bucket=_bucket_for(end), start=0.0, end=end)
        ift, inf = database.in_flight_timeline()
        errs = np.asarray(database._log.errors, dtype=float) - t0
        return cls(
            name=name,
            requests=int(len(times)),
            duration=float(workload.duration),
            times=np.asarray(times, dtype=float),
            latencies=latencies,
            errors=errors,
            critical=critical,
            db_calls=measured,
            db_errors=int((errs >= 0).sum()),
            db_max_in_flight=int(database.max_in_flight),
            qps_t=qps_t,
            qps=qps,
            in_flight_t=ift,
            in_flight=inf,
            db_query_times=np.sort(starts[starts >= 0]),
            faults=list(database.faults),
            fault_events=database.fault_events,
            cache_stats=cache_stats,
            threshold=threshold,
            seed=workload.seed,
            error_kinds=dict(error_kinds or {}),
            first_errors=dict(first_errors or {}),
        )

    # -- latency ---------------------------------------------------------------------------
    @property
    def sorted_latencies(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self.latencies)
        return self._sorted

    def percentile(self, q: float) -> float:
        """Nearest-rank q-th percentile of all request latencies (seconds)."""
        if not 0 <= q <= 100:
            raise ValueError(f"q must be between 0 and 100, got {q!r}")
        return nearest_rank(self.sorted_latencies, q)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p90(self) -> float:
        return self.percentile(90)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def p999(self) -> float:
        return self.percentile(99.9)

    @property
    def max(self) -> float:
        return float(self.sorted_latencies[-1]) if self.requests else 0.0

    @property
    def mean(self) -> float:
        return float(self.latencies.mean()) if self.requests else 0.0

    @property
    def error_count(self) -> int:
        return int(self.errors.sum())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.requests if self.requests else 0.0

    def percentiles(self, critical_only: bool = False) -> dict[str, float]:
        """{'p50', 'p90', 'p99', 'p99.9', 'max'} in seconds (optionally critical users only)."""
        lat = np.sort(self.latencies[self.critical]) if critical_only else self.sorted_latencies
        out = {name: nearest_rank(lat, q) for name, q in PERCENTILES}
        out["max"] = float(lat[-1]) if len(lat) else 0.0
        return out

    @property
    def db_peak_qps(self) -> float:
        """Most database queries started in any one-second window (sliding)."""
        q = self.db_query_times
        if not len(q):
            return 0.0
        counts = np.arange(1, len(q) + 1) - np.searchsorted(q, q - 1.0, side="right")
        return float(counts.max())

    # -- SLOs ------------------------------------------------------------------------------
    def slo(
        self,
        *,
        p50: float | None = None,
        p90: float | None = None,
        p99: float | None = None,
        p999: float | None = None,
        max: float | None = None,  # noqa: A002 - reads naturally: slo(max=0.5)
        error_rate: float | None = None,
        critical_p99: float | None = None,
        db_calls: int | None = None,
        db_peak_qps: float | None = None,
    ) -> SLOReport:
        """Check objectives (each an upper bound); returns an `SLOReport` (truthy if all met)."""
        rows: list[tuple[str, float, float, bool]] = []
        given = dict(p50=p50, p90=p90, p99=p99, p999=p999, max=max, error_rate=error_rate,
                     critical_p99=critical_p99, db_calls=db_calls, db_peak_qps=db_peak_qps)
        for name, target in given.items():
            if target is None:
                continue
            if not isinstance(target, (int, float)) or target < 0:
                raise ValueError(f"{name} must be a non-negative number, got {target!r}")
            if name == "critical_p99":
                actual = self.percentiles(critical_only=True)["p99"]
            elif name == "p999":
                actual = self.p999
            else:
                actual = float(getattr(self, name))
            rows.append((name, float(target), actual, actual <= target))
        if not rows:
            raise ValueError("slo() needs at least one objective, e.g. slo(p99=0.2)")
        return SLOReport(rows)

    # -- serialisation -----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Plain numbers (JSON-able), the same on every machine for the same seed."""
        out: dict[str, Any] = {
            "name": self.name,
            "requests": self.requests,
            "errors": self.error_count,
            "error_kinds": dict(self.error_kinds),
            "db_calls": self.db_calls,
            "db_errors": self.db_errors,
            "db_max_in_flight": self.db_max_in_flight,
            "db_peak_qps": self.db_peak_qps,
            "mean": self.mean,
        }
        out.update(self.percentiles())
        if self.critical.any():
            out["critical"] = self.percentiles(critical_only=True)
        out["cache_stats"] = dict(self.cache_stats) if self.cache_stats is not None else None
        out["fault_events"] = [list(e) for e in self.fault_events]
        return out

    def to_json(self) -> str:
        return json.dumps(self.summary(), sort_keys=True)

    def fingerprint(self) -> str:
        """SHA-256 over the summary and every per-request latency: equal iff the runs were."""
        h = hashlib.sha256(self.to_json().encode())
        for arr in (self.times, self.latencies, self.errors.astype(np.uint8), self.qps, self.in_flight):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    # -- display -----------------------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str]]:
        p = self.percentiles()
        rows = [
            ("requests", f"{self.requests:,}"),
            ("errors", f"{self.error_count:,} ({self.error_rate:.2%})"
             + (": " + ", ".join(f"{k} {v:,}" for k, v in self.error_kinds.items()) if self.error_kinds else "")),
            ("p50", format_seconds(p["p50"])),
            ("p90", format_seconds(p["p90"])),
            ("p99", format_seconds(p["p99"])),
            ("p99.9", format_seconds(p["p99.9"])),
            ("max", format_seconds(p["max"])),
            ("database calls", f"{self.db_calls:,}"),
            ("database peak", f"{self.db_peak_qps:,.0f} queries/s, {self.db_max_in_flight:,} in flight"),
        ]
        if self.critical.any():
            c = self.percentiles(critical_only=True)
            rows.append(("critical users p99", format_seconds(c["p99"])))
        if self.cache_stats is not None:
            s = self.cache_stats
            rows.append(("hits / stale / coalesced", f"{s['hits']:,} / {s['stale_served']:,} / {s['coalesced']:,}"))
            rows.append(("loads (errors)", f"{s['loads']:,} ({s['load_errors']:,})"))
        if self.faults:
            rows.append(("faults", "; ".join(f"{f.label()} at {f.at:g}-{f.end:g} s" for f in self.faults)))
        return rows

    def __repr__(self) -> str:
        width = max(len(k) for k, _ in self._rows())
        body = "\n".join(f"  {k:<{width}}  {v}" for k, v in self._rows())
        return f"SimResult {self.name!r} ({self.duration:g} s of traffic, seed {self.seed})\n{body}"

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self._rows())
        return (
            f"<table><caption>{html.escape(self.name)} &mdash; {self.duration:g} s of traffic, "
            f"seed {self.seed}</caption><tbody>{body}</tbody></table>"
        )


def _bucket_for(end: float) -> float:
    """Timeline resolution: about 50-100 buckets whatever the run length."""
    for b in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0):
        if end / b <= 100:
            return b
    return 300.0


@dataclass
class Comparison:
    """Several runs side by side (a table in a notebook)."""

    results: Sequence[SimResult]

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for r in self.results:
            s = r.cache_stats or {}
            out.append({
                "cache": r.name,
                "requests": r.requests,
                "db_calls": r.db_calls,
                "p50": r.p50,
                "p99": r.p99,
                "p99.9": r.p999,
                "max": r.max,
                "errors": r.error_count,
                "stale_served": s.get("stale_served"),
                "coalesced": s.get("coalesced"),
            })
        return out

    _HEAD = ("cache", "requests", "db_calls", "p50", "p99", "p99.9", "max", "errors", "stale_served", "coalesced")

    def _cells(self) -> list[list[str]]:
        cells = []
        for row in self.rows():
            cells.append([
                str(row["cache"]), f"{row['requests']:,}", f"{row['db_calls']:,}",
                format_seconds(row["p50"]), format_seconds(row["p99"]), format_seconds(row["p99.9"]),
                format_seconds(row["max"]), f"{row['errors']:,}",
                "-" if row["stale_served"] is None else f"{row['stale_served']:,}",
                "-" if row["coalesced"] is None else f"{row['coalesced']:,}",
            ])
        return cells

    def __repr__(self) -> str:
        cells = [list(self._HEAD)] + self._cells()
        widths = [max(len(r[i]) for r in cells) for i in range(len(self._HEAD))]
        return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self._cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def compare(*results: SimResult) -> Comparison:
    """Put runs side by side: `compare(naive, singleflight, swr)` renders as one table."""
    if not results:
        raise ValueError("results: give at least one SimResult")
    return Comparison(list(results))
