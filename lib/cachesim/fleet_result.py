"""What a `Fleet` run measured: every request (server, cohort, latency, error) and every
database call (server, cohort, pre-warm or not), with per-server and per-cohort summaries.

Percentiles are nearest-rank (`cachesim.results.nearest_rank`), like `SimResult`'s.
Times are virtual seconds since traffic started.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .results import format_seconds, nearest_rank

__all__ = ["FleetResult", "GroupStats"]


@dataclass(frozen=True)
class GroupStats:
    """Summary of one group of requests (a server, a cohort, a time window)."""

    label: str
    requests: int
    errors: int
    error_rate: float
    p50: float
    p99: float
    max: float
    db_calls: int

    @property
    def db_calls_per_request(self) -> float:
        """Database calls per request (0.0 for no requests)."""
        return self.db_calls / self.requests if self.requests else 0.0

    def row(self) -> list[str]:
        """The cells of a table row (human units)."""
        return [self.label, f"{self.requests:,}", f"{self.error_rate:.2%}", format_seconds(self.p50),
                format_seconds(self.p99), format_seconds(self.max), f"{self.db_calls:,}"]


_HEAD = ["group", "requests", "errors", "p50", "p99", "max", "db calls"]


@dataclass(frozen=True)
class FleetResult:
    """Per-request and per-database-call arrays of one fleet run, plus summaries.

    Arrays (equal length per request): `times` (arrival), `latencies`, `errors` (bool),
    `server`, `cohort` (index into `cohorts`), `critical`, `keys` (index into `key_names`).
    Database calls: `db_times`, `db_server`, `db_cohort`, `db_prewarm` (bool).
    `events`: (virtual time, description) of deploys, pauses and calls.
    """

    name: str
    duration: float
    cohorts: tuple
    servers: int
    times: np.ndarray
    latencies: np.ndarray
    errors: np.ndarray
    server: np.ndarray
    cohort: np.ndarray
    critical: np.ndarray
    keys: np.ndarray
    key_names: tuple
    db_times: np.ndarray
    db_server: np.ndarray
    db_cohort: np.ndarray
    db_prewarm: np.ndarray
    events: list
    cache_stats: dict

    @classmethod
    def build(cls, *, name: str, duration: float, cohorts: Sequence[str], servers: int, times: Any,
              latencies: Any, errors: Any, server: Any, cohort: Any, critical: Any, keys: Any,
              key_names: tuple, db_log: list, events: list, cache_stats: dict) -> "FleetResult":
        """Assemble from the raw lists a run collected (used by `Fleet`)."""
        db = np.asarray(db_log, dtype=float).reshape(-1, 4)
        order = np.argsort(db[:, 0], kind="stable")
        db = db[order]
        return cls(
            name=name, duration=float(duration), cohorts=tuple(cohorts), servers=int(servers),
            times=np.asarray(times, dtype=float),
            latencies=np.round(np.asarray(latencies, dtype=float), 9),
            errors=np.frombuffer(bytes(errors), dtype=np.uint8).astype(bool),
            server=np.asarray(server, dtype=np.int32),
            cohort=np.frombuffer(bytes(cohort), dtype=np.uint8).astype(np.int32),
            critical=np.asarray(critical, dtype=bool), keys=np.asarray(keys, dtype=np.int32),
            key_names=tuple(key_names), db_times=db[:, 0], db_server=db[:, 1].astype(np.int32),
            db_cohort=db[:, 2].astype(np.int32), db_prewarm=db[:, 3].astype(bool),
            events=list(events), cache_stats=dict(cache_stats),
        )

    @property
    def requests(self) -> int:
        """Number of requests."""
        return int(len(self.times))

    def mask(self, *, cohort: str | None = None, server: int | None = None, start: float | None = None,
             end: float | None = None, critical: bool | None = None) -> np.ndarray:
        """Boolean mask over requests: arrivals in [start, end), of a cohort/server/criticality.

        Raises:
            KeyError: unknown cohort.
        """
        m = np.ones(self.requests, dtype=bool)
        if cohort is not None:
            if cohort not in self.cohorts:
                raise KeyError(f"unknown cohort {cohort!r}; this run has {self.cohorts}")
            m &= self.cohort == self.cohorts.index(cohort)
        if server is not None:
            m &= self.server == server
        if start is not None:
            m &= self.times >= start
        if end is not None:
            m &= self.times < end
        if critical is not None:
            m &= self.critical == critical
        return m

    def first_requests(self, after: float = 0.0, *, critical: bool | None = None) -> np.ndarray:
        """Mask of each user's first request arriving at or after `after` (a cold start
        after a deploy at `after`), optionally only critical / non-critical users."""
        m = self.times >= after
        if critical is not None:
            m &= self.critical == critical
        idx = np.flatnonzero(m)
        _, first = np.unique(self.keys[idx], return_index=True)
        out = np.zeros(self.requests, dtype=bool)
        out[idx[first]] = True
        return out

    def _db_mask(self, cohort: str | None, server: int | None, start: float | None, end: float | None) -> np.ndarray:
        m = np.ones(len(self.db_times), dtype=bool)
        if cohort is not None:
            m &= self.db_cohort == self.cohorts.index(cohort)
        if server is not None:
            m &= self.db_server == server
        if start is not None:
            m &= self.db_times >= start
        if end is not None:
            m &= self.db_times < end
        return m

    def stats(self, label: str = "all", *, cohort: str | None = None, server: int | None = None,
              start: float | None = None, end: float | None = None, critical: bool | None = None) -> GroupStats:
        """`GroupStats` of the requests the filters select (see `mask`); database calls are
        counted for the same cohort/server/time window (critical users: not separable, all)."""
        m = self.mask(cohort=cohort, server=server, start=start, end=end, critical=critical)
        lat = np.sort(self.latencies[m])
        n, e = int(m.sum()), int(self.errors[m].sum())
        return GroupStats(label, n, e, e / n if n else 0.0, nearest_rank(lat, 50), nearest_rank(lat, 99),
                          float(lat[-1]) if n else 0.0, int(self._db_mask(cohort, server, start, end).sum()))

    def overall(self) -> GroupStats:
        """Every request."""
        return self.stats("all")

    def by_server(self) -> dict[int, GroupStats]:
        """`GroupStats` per server index."""
        return {s: self.stats(f"server {s}", server=s) for s in range(self.servers)}

    def by_cohort(self, start: float | None = None, end: float | None = None) -> dict[str, GroupStats]:
        """`GroupStats` per cohort, optionally for arrivals in [start, end)."""
        return {c: self.stats(c, cohort=c, start=start, end=end) for c in self.cohorts}

    def load_timeline(self, bucket: float = 1.0, *, by: str | None = None, prewarm: bool | None = None):
        """(bucket start times, {label: database queries per second}) as numpy arrays.

        by: None (one series "all"), "cohort" or "server"; prewarm: True/False keeps only
        pre-warm / request-driven calls.

        Raises:
            ValueError: `bucket` not positive or `by` unknown.
        """
        if not bucket > 0:
            raise ValueError(f"bucket must be positive, got {bucket!r}")
        end = max(self.duration, float(self.db_times[-1]) if len(self.db_times) else 0.0)
        edges = np.arange(0.0, end + bucket, bucket)
        keep = np.ones(len(self.db_times), dtype=bool) if prewarm is None else (self.db_prewarm == prewarm)
        if by is None:
            groups = {"all": keep}
        elif by == "cohort":
            groups = {c: keep & (self.db_cohort == i) for i, c in enumerate(self.cohorts)}
        elif by == "server":
            groups = {f"server {s}": keep & (self.db_server == s) for s in range(self.servers)}
        else:
            raise ValueError(f"by must be None, 'cohort' or 'server', got {by!r}")
        return edges[:-1], {k: np.histogram(self.db_times[g], bins=edges)[0] / bucket for k, g in groups.items()}

    def percentile_timeline(self, bucket: float = 60.0, q: float = 99.0, *, by: str | None = "cohort"):
        """(bucket start times, {label: q-th percentile latency of arrivals in each bucket}),
        nearest-rank; NaN where a bucket has no requests. `by`: "cohort", "server" or None.

        Raises:
            ValueError: `bucket` not positive, q outside [0, 100] or `by` unknown.
        """
        if not bucket > 0 or not 0 <= q <= 100:
            raise ValueError(f"need bucket > 0 and 0 <= q <= 100, got bucket={bucket!r}, q={q!r}")
        edges = np.arange(0.0, self.duration + bucket * 0.5, bucket)
        if by is None:
            groups = {"all": np.ones(self.requests, dtype=bool)}
        elif by == "cohort":
            groups = {c: self.cohort == i for i, c in enumerate(self.cohorts)}
        elif by == "server":
            groups = {f"server {s}": self.server == s for s in range(self.servers)}
        else:
            raise ValueError(f"by must be None, 'cohort' or 'server', got {by!r}")
        which = np.searchsorted(edges, self.times, side="right") - 1
        out = {}
        for label, g in groups.items():
            vals = np.full(len(edges) - 1, np.nan)
            for b in range(len(edges) - 1):
                lat = self.latencies[g & (which == b)]
                if len(lat):
                    vals[b] = nearest_rank(np.sort(lat), q)
            out[label] = vals
        return edges[:-1], out

    def db_peak_qps(self, start: float = 0.0, end: float | None = None, *, prewarm: bool | None = None,
                    window: float = 1.0) -> float:
        """Most database queries started in any sliding `window` seconds within [start, end),
        divided by `window` (optionally pre-warm calls only, or request calls only)."""
        m = self.db_times >= start
        if end is not None:
            m &= self.db_times < end
        if prewarm is not None:
            m &= self.db_prewarm == prewarm
        q = self.db_times[m]
        if not len(q):
            return 0.0
        counts = np.arange(1, len(q) + 1) - np.searchsorted(q, q - window + 1e-12, side="left")
        return float(counts.max()) / window

    def table(self) -> str:
        """A text table: overall, per cohort, per server."""
        rows = [self.overall(), *self.by_cohort().values(), *self.by_server().values()]
        cells = [_HEAD] + [g.row() for g in rows]
        w = [max(len(r[i]) for r in cells) for i in range(len(_HEAD))]
        return "\n".join("  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)) for r in cells)

    def __repr__(self) -> str:
        return f"FleetResult {self.name!r} ({self.duration:g} s, {self.servers} servers)\n{self.table()}"

    def _repr_html_(self) -> str:
        rows = [self.overall(), *self.by_cohort().values(), *self.by_server().values()]
        head = "".join(f"<th>{h}</th>" for h in _HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in g.row()) + "</tr>" for g in rows)
        return f"<table><caption>{html.escape(self.name)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
