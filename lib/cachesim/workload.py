"""Seeded workloads: Zipf key popularity, steady rate, bursts, deploys, critical users, servers.

A `Workload` is a plain description; `Workload.generate()` turns it into arrays of arrival
times, key indices and server indices with numpy's seeded PCG64 generator, so the same
seed gives the same requests on every machine (for a given numpy version).

>>> w = Workload(duration=2.0, rate=100, keys=50, seed=7)
>>> a = w.generate()
>>> len(a.times), bool(a.times[0] >= 0.0), bool(a.times[-1] < 2.0)
(213, True, True)
>>> bool((w.generate().keys == a.keys).all())     # same seed, same requests
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Hashable, Sequence

import numpy as np

__all__ = ["Burst", "Workload", "Arrivals", "MAX_REQUESTS"]

#: A guard against workloads that would never finish (or not in a lesson's lifetime).
MAX_REQUESTS = 20_000_000


def _finite(name: str, value: float, *, positive: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r} (a workload must end)")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Burst:
    """From `at`, for `duration` seconds, the arrival rate is multiplied by `multiplier`.

    >>> Burst(at=5, duration=1, multiplier=3).end
    6.0
    """

    at: float
    duration: float
    multiplier: float

    def __post_init__(self) -> None:
        _finite("at", self.at)
        _finite("duration", self.duration)
        _finite("multiplier", self.multiplier)

    @property
    def end(self) -> float:
        return float(self.at + self.duration)


@dataclass(frozen=True)
class Arrivals:
    """The generated requests, in arrival order (numpy arrays of equal length)."""

    times: np.ndarray  # float64 virtual seconds since the workload started
    keys: np.ndarray  # int32 index into `key_names`
    servers: np.ndarray  # int32 app-server index
    key_names: tuple
    critical: np.ndarray  # bool per key index

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True)
class Workload:
    """What traffic to send.

    Args:
        duration: seconds of traffic (finite, positive).
        rate: mean requests per second (non-negative, finite).
        keys: number of distinct keys (named "user:0", "user:1", ... hottest first) or a
            sequence of keys, hottest first.
        zipf_s: Zipf exponent of key popularity (0 = uniform; ~1 = typical web traffic).
        arrivals: "poisson" (random, seeded) or "even" (exactly every 1/rate seconds).
        bursts: `Burst`s that multiply the rate for a while.
        deploys: virtual times at which every app server restarts with an empty cache.
        critical_fraction: fraction of keys (users) marked critical, chosen by the seed.
        servers: number of app servers, each with its own cache, sharing one database.
        seed: the seed for everything random here.
        hottest: one of the keys to make the most popular instead of the first: it swaps
            popularity with the first key, every other key keeps its own (None, the default, or
            the first key: popularity follows the order of `keys`, as always).
    """

    duration: float
    rate: float
    keys: int | Sequence[Hashable] = 1000
    zipf_s: float = 1.0
    arrivals: str = "poisson"
    bursts: Sequence[Burst] = ()
    deploys: Sequence[float] = ()
    critical_fraction: float = 0.0
    servers: int = 1
    seed: int = 0
    hottest: Hashable | None = None
    _key_names: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.duration is None:
            raise ValueError("duration must be a finite number of seconds (a workload must end), got None")
        _finite("duration", self.duration, positive=True)
        _finite("rate", self.rate)
        _finite("zipf_s", self.zipf_s)
        if self.arrivals not in ("poisson", "even"):
            raise ValueError(f"arrivals must be 'poisson' or 'even', got {self.arrivals!r}")
        if isinstance(self.keys, bool):
            raise ValueError(f"keys must be a positive int or a sequence of keys, got {self.keys!r}")
        if isinstance(self.keys, int):
            if self.keys <= 0:
                raise ValueError(f"keys must be positive, got {self.keys!r}")
            names: tuple = tuple(f"user:{i}" for i in range(self.keys))
        else:
            names = tuple(self.keys)
            if not names:
                raise ValueError("keys must not be empty")
            if len(set(names)) != len(names):
                raise ValueError("keys must be distinct")
        object.__setattr__(self, "_key_names", names)
        if self.hottest is not None and self.hottest not in names:
            raise ValueError(f"hottest must be one of the keys, got {self.hottest!r}")
        bursts = tuple(self.bursts)
        for i, b in enumerate(bursts):
            if not isinstance(b, Burst):
                raise ValueError(f"bursts[{i}] must be a Burst, got {b!r}")
        object.__setattr__(self, "bursts", bursts)
        deploys = tuple(sorted(_finite(f"deploys[{i}]", t) for i, t in enumerate(self.deploys)))
        late = [t for t in deploys if t >= self.duration]
        if late:
            raise ValueError(f"deploys must fall within the traffic (duration={self.duration:g} s), got {late[0]:g}")
        object.__setattr__(self, "deploys", deploys)
        if not 0.0 <= self.critical_fraction <= 1.0:
            raise ValueError(f"critical_fraction must be between 0 and 1, got {self.critical_fraction!r}")
        if not isinstance(self.servers, int) or isinstance(self.servers, bool) or self.servers < 1:
            raise ValueError(f"servers must be a positive integer, got {self.servers!r}")
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        expected = self.expected_requests()
        if expected > MAX_REQUESTS:
            raise ValueError(
                f"rate x duration asks for about {expected:,.0f} requests, more than "
                f"MAX_REQUESTS={MAX_REQUESTS:,}: this workload would not end in reasonable time"
            )

    @property
    def key_names(self) -> tuple:
        return self._key_names

    def _segments(self) -> list[tuple[float, float, float]]:
        """(start, end, rate) pieces with a constant rate, covering [0, duration)."""
        cuts = {0.0, float(self.duration)}
        for b in self.bursts:
            cuts.update(t for t in (b.at, b.end) if 0.0 < t < self.duration)
        edges = sorted(cuts)
        segs = []
        for a, e in zip(edges, edges[1:]):
            mid = (a + e) / 2
            r = self.rate
            for b in self.bursts:
                if b.at <= mid < b.end:
                    r *= b.multiplier
            segs.append((a, e, r))
        return segs

    def expected_requests(self) -> float:
        """Mean number of requests this workload sends."""
        return sum((e - a) * r for a, e, r in self._segments())

    def critical_keys(self) -> list:
        """The keys of critical users (a seeded subset; in the order of `key_names`)."""
        mask = self._critical_mask()
        return [k for k, c in zip(self._key_names, mask) if c]

    def _streams(self) -> list[np.random.Generator]:
        return [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(self.seed).spawn(4)]

    def _critical_mask(self) -> np.ndarray:
        n = len(self._key_names)
        k = int(round(self.critical_fraction * n))
        mask = np.zeros(n, dtype=bool)
        if k:
            rng = self._streams()[3]
            mask[rng.permutation(n)[:k]] = True
        return mask

    def probabilities(self) -> np.ndarray:
        """Popularity of each key, in the order of `key_names` (Zipf with exponent `zipf_s`,
        hottest first; `hottest` swaps places with the first key).

        >>> w = Workload(duration=1.0, rate=10, keys=4, hottest="user:2")
        >>> [round(float(p), 3) for p in w.probabilities()]
        [0.16, 0.24, 0.48, 0.12]
        """
        n = len(self._key_names)
        w = 1.0 / np.arange(1, n + 1, dtype=float) ** self.zipf_s
        if self.hottest is not None:
            j = self._key_names.index(self.hottest)
            w[0], w[j] = w[j], w[0]
        return w / w.sum()

    def generate(self) -> Arrivals:
        """Draw the requests. Deterministic for a given seed."""
        t_rng, k_rng, s_rng, _ = self._streams()
        pieces = []
        for a, e, r in self._segments():
            if r <= 0:
                continue
            if self.arrivals == "even":
                n = int(math.floor((e - a) * r + 1e-9))
                pieces.append(a + np.arange(n, dtype=float) / r)
            else:
                n = int(t_rng.poisson((e - a) * r))
                pieces.append(np.sort(t_rng.uniform(a, e, size=n)))
        times = np.concatenate(pieces) if pieces else np.zeros(0)
        n = len(times)
        nk = len(self._key_names)
        if nk == 1:
            keys = np.zeros(n, dtype=np.int32)
        else:
            cdf = np.cumsum(self.probabilities())
            cdf[-1] = 1.0
            keys = np.searchsorted(cdf, k_rng.random(n), side="right").astype(np.int32)
        if self.servers == 1:
            servers = np.zeros(n, dtype=np.int32)
        else:
            servers = s_rng.integers(0, self.servers, size=n).astype(np.int32)
        return Arrivals(times, keys, servers, self._key_names, self._critical_mask())
