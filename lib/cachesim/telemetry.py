"""Prometheus metrics for a simulated fleet, in virtual time, on a registry of its own.

`Telemetry` is a `Fleet` observer. Every finished request and every database call feeds
real `prometheus_client` metrics registered on a **private** `CollectorRegistry` (so two
simulations, or two tests, never share counters, and the process-wide default registry
stays untouched):

- ``session_read_latency_seconds`` (histogram by cohort; successful reads only; buckets
  include the SLO threshold, so "good" reads are one bucket's count),
- ``session_reads_total`` and ``session_read_errors_total`` (counters by cohort and server),
- ``session_db_calls_total`` (counter by cohort).

`exposition()` is the text a Prometheus server would scrape (`generate_latest`). With
`scrape_interval`, the registry is also read every so many *virtual* seconds, giving the
per-bucket counts the SLO alerts evaluate (`cachesim.slo.evaluate_counts`), as a
Prometheus server evaluating recording rules would.

>>> from cachesim import Workload, SimulatedDatabase, NaiveCache
>>> from cachesim.fleet import Fleet
>>> tel = Telemetry(slo_threshold=0.2, scrape_interval=10)
>>> r = Fleet(Workload(duration=60, rate=20, keys=50, seed=2), lambda load: NaiveCache(load, ttl=30),
...           servers=2, database=SimulatedDatabase(latency=0.01), observers=[tel]).run()
>>> tel.value("session_reads_total") == r.requests, len(tel.scrapes) >= 6
(True, True)
>>> 'session_read_latency_seconds_bucket{cohort="control",le="0.2"}' in tel.exposition()
True
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["Telemetry", "DEFAULT_BUCKETS"]

_CREATED = re.compile(r"^(?:# (?:HELP|TYPE) )?\w+_created[\s{]")

#: Latency buckets (seconds); the SLO threshold is added if missing.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class Telemetry:
    """A `Fleet` observer that records metrics through `prometheus_client`.

    Args:
        slo_threshold: latency (s) under which a successful read is "good" (a bucket bound).
        buckets: histogram buckets in seconds (the threshold is added if missing).
        scrape_interval: if given, read the registry every so many virtual seconds
            (`scrapes`: list of (t, {metric: value})).

    Also keeps the exact per-request record (`request_times`, `request_good`) for
    `cachesim.slo.evaluate`, the exact mode the scraped (coarse) mode is checked against.

    Raises:
        ValueError: threshold not positive, or scrape_interval not positive.
    """

    def __init__(self, slo_threshold: float = 0.2, buckets: Sequence[float] = DEFAULT_BUCKETS, *,
                 scrape_interval: float | None = None) -> None:
        if not slo_threshold > 0:
            raise ValueError(f"slo_threshold must be positive, got {slo_threshold!r}")
        if scrape_interval is not None and not scrape_interval > 0:
            raise ValueError(f"scrape_interval must be positive or None, got {scrape_interval!r}")
        self.threshold = float(slo_threshold)
        self.buckets = tuple(sorted(set(float(b) for b in buckets) | {self.threshold}))
        self.scrape_interval = scrape_interval
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram("session_read_latency_seconds", "Latency of successful session reads.",
                                 ["cohort"], buckets=self.buckets, registry=self.registry)
        self.reads = Counter("session_reads", "Session reads answered (success or error).",
                             ["cohort", "server"], registry=self.registry)
        self.errors = Counter("session_read_errors", "Session reads that failed.",
                              ["cohort", "server"], registry=self.registry)
        self.db_calls = Counter("session_db_calls", "Database queries made by the caches.",
                                ["cohort"], registry=self.registry)
        self.cohorts: tuple[str, ...] = ("control",)
        self.scrapes: list[tuple[float, dict[str, float]]] = []
        self._times: list[float] = []
        self._good: bytearray = bytearray()
        self._children: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        self._db_children: dict[int, Any] = {}
        self._ctl: Any = None

    # -- the observer protocol -------------------------------------------------------------
    def on_start(self, control: Any) -> None:
        """Called by `Fleet` before traffic: learns the cohorts, schedules scrapes."""
        self._ctl = control
        self.cohorts = control.fleet.cohorts
        if self.scrape_interval is not None:
            loop, step = control.loop, self.scrape_interval
            end = control.t0 + control.fleet.workload.duration

            def scrape() -> None:
                self.scrapes.append((round(control.now(), 9), self.snapshot()))
                if loop.time() + step <= end + 1e-9:
                    loop.call_at(loop.time() + step, scrape)

            loop.call_at(control.t0 + step, scrape)

    def on_end(self, control: Any) -> None:
        """Called by `Fleet` after the last request: a final scrape (if scraping)."""
        if self.scrape_interval is not None and (not self.scrapes or self.scrapes[-1][0] < control.now()):
            self.scrapes.append((round(control.now(), 9), self.snapshot()))

    def on_request(self, t: float, latency: float, error: bool, server: int, cohort: int) -> None:
        """One request finished at virtual time `t`."""
        ch = self._children.get((cohort, server))
        if ch is None:
            name = self.cohorts[cohort]
            ch = self._children[(cohort, server)] = (
                self.latency.labels(name), self.reads.labels(name, str(server)), self.errors.labels(name, str(server)))
        ch[1].inc()
        if error:
            ch[2].inc()
        else:
            ch[0].observe(latency)
        self._times.append(t)
        self._good.append(0 if error or latency > self.threshold + 1e-12 else 1)

    def on_db_call(self, t: float, server: int, cohort: int) -> None:
        """One database query started at virtual time `t`."""
        c = self._db_children.get(cohort)
        if c is None:
            c = self._db_children[cohort] = self.db_calls.labels(self.cohorts[cohort])
        c.inc()

    # -- reading it back ----------------------------------------------------------------------
    def exposition(self, *, created: bool = False) -> str:
        """The Prometheus text exposition of this registry (what `/metrics` would serve).

        The ``*_created`` series hold *wall-clock* creation times, which would make the text
        differ on every run; they are left out unless `created` is True.
        """
        text = generate_latest(self.registry).decode()
        if created:
            return text
        return "".join(line for line in text.splitlines(keepends=True)
                       if not _CREATED.match(line))

    def value(self, name: str, **labels: str) -> float:
        """Sum of the samples called `name` whose labels include `labels` (0.0 if none)."""
        total = 0.0
        for metric in self.registry.collect():
            for s in metric.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    total += s.value
        return total

    def snapshot(self) -> dict[str, float]:
        """Current totals: requests, errors, good (successful and under the threshold), db_calls."""
        le = _le(self.threshold)
        return {
            "requests": self.value("session_reads_total"),
            "errors": self.value("session_read_errors_total"),
            "good": self.value("session_read_latency_seconds_bucket", le=le),
            "db_calls": self.value("session_db_calls_total"),
        }

    def scraped_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scrape times, good reads, all reads) per scrape interval, from the scrapes."""
        if not self.scrapes:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        t = np.array([s[0] for s in self.scrapes])
        good = np.diff(np.array([0.0] + [s[1]["good"] for s in self.scrapes]))
        total = np.diff(np.array([0.0] + [s[1]["requests"] for s in self.scrapes]))
        return t, good, total

    @property
    def request_times(self) -> np.ndarray:
        """Virtual completion time of every request, in completion order."""
        return np.asarray(self._times, dtype=float)

    @property
    def request_good(self) -> np.ndarray:
        """Per request: True if it succeeded within the SLO threshold."""
        return np.frombuffer(bytes(self._good), dtype=np.uint8).astype(bool)


def _le(bound: float) -> str:
    """The `le` label prometheus_client writes for a bucket bound (e.g. 0.2 -> '0.2')."""
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)
