"""A simulated database: finite capacity, seeded latency, and scheduled faults ("curveballs").

>>> import asyncio
>>> from cachesim import run
>>> db = SimulatedDatabase(latency=Fixed(0.05), faults=[slowdown(at=1.0, duration=2.0, factor=10)])
>>> async def main():
...     loop = asyncio.get_running_loop()
...     await db.query("a")                  # t=0: normal, 50 ms
...     await asyncio.sleep(1.0)
...     t0 = loop.time(); await db.query("a")  # inside the slowdown: 500 ms
...     return round(loop.time() - t0, 6)
>>> run(main)
0.5
>>> db.calls
2
"""

from __future__ import annotations

import asyncio
import math
import random
from math import log as _log
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence

from .throttle import LoopThrottler
from .vtime import VirtualTimeLoop

__all__ = [
    "DatabaseError",
    "DatabaseUnavailable",
    "LatencyModel",
    "Fixed",
    "Uniform",
    "Exponential",
    "LogNormal",
    "Fault",
    "FAULT_KINDS",
    "slowdown",
    "error_rate",
    "outage",
    "SimulatedDatabase",
]


class DatabaseError(Exception):
    """A query failed (an injected error)."""


class DatabaseUnavailable(DatabaseError):
    """The database is down (an injected outage)."""


def _check_nonneg(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value < 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite, non-negative number, got {value!r}")
    return float(value)


class LatencyModel:
    """Base class: `sample(rng)` returns one service time in seconds."""

    def sample(self, rng: random.Random) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(LatencyModel):
    """Always `seconds`.

    >>> Fixed(0.01).sample(random.Random(0))
    0.01
    """

    seconds: float

    def __post_init__(self) -> None:
        _check_nonneg("seconds", self.seconds)

    def sample(self, rng: random.Random) -> float:
        return self.seconds


@dataclass(frozen=True)
class Uniform(LatencyModel):
    """Uniform between `low` and `high` seconds.

    >>> 0.01 <= Uniform(0.01, 0.02).sample(random.Random(0)) <= 0.02
    True
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_nonneg("low", self.low)
        _check_nonneg("high", self.high)
        if self.high < self.low:
            raise ValueError(f"high must be >= low, got low={self.low!r}, high={self.high!r}")

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class Exponential(LatencyModel):
    """Exponentially distributed with the given `mean` seconds.

    >>> Exponential(0.01).sample(random.Random(0)) > 0
    True
    """

    mean: float

    def __post_init__(self) -> None:
        _check_nonneg("mean", self.mean)

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0


@dataclass(frozen=True)
class LogNormal(LatencyModel):
    """Log-normal with the given `median` seconds and shape `sigma` (a long right tail).

    >>> round(LogNormal(0.01, sigma=0.0).sample(random.Random(0)), 12)
    0.01
    """

    median: float
    sigma: float = 0.5

    def __post_init__(self) -> None:
        _check_nonneg("median", self.median)
        _check_nonneg("sigma", self.sigma)

    def sample(self, rng: random.Random) -> float:
        if self.median == 0:
            return 0.0
        return rng.lognormvariate(math.log(self.median), self.sigma)


FAULT_KINDS = ("slow", "errors", "outage")


@dataclass(frozen=True)
class Fault:
    """A scheduled curveball: from virtual time `at` for `duration` seconds.

    kind: "slow" (latency x `factor`), "errors" (each query fails with probability
    `rate`) or "outage" (every query fails at once with `DatabaseUnavailable`).

    >>> Fault("slow", at=10, duration=5, factor=3).active(12)
    True
    >>> Fault("meteor", at=1, duration=1)
    Traceback (most recent call last):
    ...
    ValueError: kind must be one of 'slow', 'errors', 'outage'; got 'meteor'
    """

    kind: str
    at: float
    duration: float
    factor: float = 1.0
    rate: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                "kind must be one of " + ", ".join(repr(k) for k in FAULT_KINDS) + f"; got {self.kind!r}"
            )
        _check_nonneg("at", self.at)
        _check_nonneg("duration", self.duration)
        _check_nonneg("factor", self.factor)
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {self.rate!r}")

    @property
    def end(self) -> float:
        return self.at + self.duration

    def active(self, t: float) -> bool:
        """True while the fault is in force at virtual time `t` (start inclusive, end exclusive)."""
        return self.at <= t < self.end

    def label(self) -> str:
        """A short human label, e.g. 'latency x10'."""
        if self.kind == "slow":
            return f"latency x{self.factor:g}"
        if self.kind == "errors":
            return f"{self.rate:.0%} errors"
        return "outage"


def slowdown(at: float, duration: float, factor: float) -> Fault:
    """Latency times `factor` for `duration` seconds from `at`.

    >>> slowdown(5, 2, 10).label()
    'latency x10'
    """
    return Fault("slow", at=at, duration=duration, factor=factor)


def error_rate(at: float, duration: float, rate: float) -> Fault:
    """Each query fails with probability `rate` for `duration` seconds from `at`.

    >>> error_rate(5, 2, 0.25).label()
    '25% errors'
    """
    return Fault("errors", at=at, duration=duration, rate=rate)


def outage(at: float, duration: float) -> Fault:
    """Every query fails immediately for `duration` seconds from `at`.

    >>> outage(5, 2).end
    7.0
    """
    return Fault("outage", at=at, duration=float(duration))


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass
class _Log:
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    fault_events: list[tuple[float, str, int]] = field(default_factory=list)


class SimulatedDatabase:
    """A database in virtual time.

    Args:
        latency: service time per query: a `LatencyModel` or a number of seconds.
        capacity: queries per second the database admits (a `LoopThrottler`, FIFO); extra
            queries queue. None means unlimited.
        faults: scheduled `Fault`s.
        seed: seeds the latency and error draws (a `random.Random` of its own).
        key_latency: optional per-key latency overrides (e.g. one slow hot key).

    Every query is logged (start and end virtual times) so `qps_timeline` and
    `in_flight_timeline` can be computed afterwards. `query` returns
    `(key, version)` where version counts the loads of that key.
    """

    def __init__(
        self,
        *,
        latency: LatencyModel | float = 0.005,
        capacity: float | None = None,
        faults: Sequence[Fault] = (),
        seed: int = 0,
        key_latency: dict[Hashable, LatencyModel | float] | None = None,
    ) -> None:
        self.latency = self._model("latency", latency)
        if capacity is not None:
            _check_nonneg("capacity", capacity)
            if capacity <= 0:
                raise ValueError(f"capacity must be positive or None, got {capacity!r}")
        self.capacity = capacity
        faults = list(faults)
        for i, f in enumerate(faults):
            if not isinstance(f, Fault):
                raise ValueError(f"faults[{i}] must be a Fault, got {f!r}")
        self.faults: list[Fault] = sorted(faults, key=lambda f: (f.at, f.kind, f.end))
        self.seed = int(seed)
        self.key_latency = {k: self._model(f"key_latency[{k!r}]", v) for k, v in (key_latency or {}).items()}
        self.reset()

    @staticmethod
    def _model(name: str, value: LatencyModel | float) -> LatencyModel:
        if isinstance(value, LatencyModel):
            return value
        return Fixed(_check_nonneg(name, value))

    def reset(self) -> None:
        """Forget all counters and logs (a fresh run)."""
        self._rng = random.Random(self.seed)
        self._throttle: LoopThrottler | None = None
        self._log = _Log()
        self._versions: dict[Hashable, int] = {}
        self.calls = 0
        self.errors = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._armed_loop: Any = None
        self.epoch = 0.0

    # -- fault bookkeeping -------------------------------------------------------------
    def start(self, epoch: float | None = None) -> None:
        """Start the fault clock: fault times (and timelines) count from `epoch` (loop time;
        default now). Called by `simulate` when traffic starts; otherwise the first query
        starts it at loop time 0."""
        loop = asyncio.get_running_loop()
        self.epoch = loop.time() if epoch is None else float(epoch)
        self._armed_loop = loop
        now = loop.time()
        for i, f in enumerate(self.faults):
            for t, what in ((f.at, "start"), (f.end, "end")):
                if self.epoch + t >= now:
                    loop.call_at(self.epoch + t, self._fault_event, f"{f.kind}:{what}", i)

    def hold(self) -> None:
        """Bind to the running loop without starting the fault clock: queries until `start`
        (a warm-up) see no faults."""
        self._armed_loop = asyncio.get_running_loop()
        self.epoch = math.inf

    def _fault_event(self, what: str, index: int) -> None:
        loop = asyncio.get_running_loop()
        self._log.fault_events.append((loop.time() - self.epoch, what, index))

    @property
    def fault_events(self) -> list[tuple[float, str, int]]:
        """(virtual time, "kind:start"/"kind:end", fault index) as they happened."""
        return list(self._log.fault_events)

    def active_faults(self, t: float) -> list[Fault]:
        """Faults in force at time `t` (seconds since the epoch)."""
        return [f for f in self.faults if f.active(t)]

    # -- the query -----------------------------------------------------------------------
    async def query(self, key: Hashable) -> tuple[Hashable, int]:
        """Run one query for `key`; returns `(key, version)`. May raise `DatabaseError`."""
        loop = self._armed_loop
        # The loop this database is bound to, if it runs here; else ask asyncio (and bind).
        virtual = type(loop) is VirtualTimeLoop and loop.runs_here()
        if not virtual:
            loop = asyncio.get_running_loop()
            virtual = type(loop) is VirtualTimeLoop
            if self._armed_loop is not loop:
                self.start(0.0)
        if self.capacity is not None:
            if self._throttle is None:
                # A sliding window: `capacity` queries per second (below 1 qps: one query
                # per 1/capacity seconds).
                if self.capacity >= 1:
                    self._throttle = LoopThrottler(int(round(self.capacity)), period=1.0)
                else:
                    self._throttle = LoopThrottler(1, period=1.0 / self.capacity)
            await self._throttle.acquire()
        now = loop.time()
        log = self._log
        log.starts.append(now)
        rel = now - self.epoch  # -inf while held (warm-up): no fault is active
        self.calls += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            model = self.key_latency.get(key, self.latency) if self.key_latency else self.latency
            if type(model) is Exponential and model.mean > 0:
                # Exponential.sample inlined: random.expovariate's arithmetic, the same draw.
                delay = -_log(1.0 - self._rng.random()) / (1.0 / model.mean)
            else:
                delay = model.sample(self._rng)
            fail: DatabaseError | None = None
            for f in self.faults:
                if f.at > rel:
                    break
                if not rel < f.at + f.duration:  # Fault.active(rel), inlined
                    continue
                if f.kind == "slow":
                    delay *= f.factor
                elif f.kind == "outage":
                    fail = DatabaseUnavailable(f"database outage (t={rel:.3f} s)")
                    delay = 0.0
                elif f.kind == "errors" and fail is None and self._rng.random() < f.rate:
                    fail = DatabaseError(f"injected query error (t={rel:.3f} s)")
            if delay > 0:
                if virtual:
                    # asyncio.sleep(delay) without its coroutine: the same timer, the same
                    # virtual time (the clock has not moved since `now` was read).
                    done = loop.create_future()
                    timer = loop.call_at(now + delay, _wake, done)
                    try:
                        await done
                    except BaseException:
                        timer.cancel()
                        raise
                else:
                    await asyncio.sleep(delay)
            if fail is not None:
                self.errors += 1
                log.errors.append(loop.time())
                raise fail
            version = self._versions.get(key, 0) + 1
            self._versions[key] = version
            return (key, version)
        finally:
            self.in_flight -= 1
            log.ends.append(loop.time())

    __call__ = query

    # -- timelines -------------------------------------------------------------------------
    def qps_timeline(self, bucket: float = 1.0, start: float = 0.0, end: float | None = None):
        """(bucket start times, queries started per second in each bucket) as numpy arrays.

        Times count from the epoch (the start of traffic); warm-up queries fall before 0."""
        import numpy as np

        starts = np.asarray(self._log.starts, dtype=float) - self.epoch
        if end is None:
            last = max(self._log.ends) - self.epoch if self._log.ends else 0.0
            end = max([start + bucket, last, *(f.end for f in self.faults)])
        edges = np.arange(start, end + bucket, bucket)
        counts, _ = np.histogram(starts, bins=edges)
        return edges[:-1], counts / bucket

    def in_flight_timeline(self):
        """(times, queries in flight just after each time) as numpy arrays (a step function)."""
        import numpy as np

        s = np.asarray(self._log.starts, dtype=float) - self.epoch
        e = np.asarray(self._log.ends, dtype=float) - self.epoch
        t = np.concatenate([s, e])
        d = np.concatenate([np.ones(len(s)), -np.ones(len(e))])
        order = np.lexsort((d, t))  # at equal times, ends (-1) before starts (+1)
        return t[order], np.cumsum(d[order])

    def __repr__(self) -> str:
        cap = "unlimited" if self.capacity is None else f"{self.capacity:g} qps"
        return (
            f"SimulatedDatabase(latency={self.latency!r}, capacity={cap}, "
            f"faults={len(self.faults)}, calls={self.calls}, errors={self.errors})"
        )

