"""Pre-warm keys into a fresh cache at a bounded rate: a token bucket on the loop's clock.

A deploy empties the caches; the first request of every critical user then pays a cold
database load. Pre-warming their keys right after the deploy fixes that, but loading them
all at once would itself stampede the database. `prewarm_keys` loads them no faster than
a `TokenBucket` allows, so the extra database load stays under `rate` queries per second
(plus a `burst` at the start).

>>> import asyncio
>>> from cachesim import run, SimulatedDatabase, NaiveCache
>>> async def main():
...     db = SimulatedDatabase(latency=0.01)
...     cache = NaiveCache(db.query, ttl=600)
...     report = await prewarm_keys(cache, [f"user:{i}" for i in range(20)], Prewarm((), rate=10, burst=5))
...     return report.warmed, round(report.elapsed, 3)
>>> run(main)          # 5 at once, then one every 0.1 s: the 20th starts at 1.5 s
(20, 1.51)
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

__all__ = ["TokenBucket", "Prewarm", "PrewarmReport", "prewarm_keys"]


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; reads `clock` (default: the running
    loop's `time()`, so virtual time drives it). Starts full.

    Raises:
        ValueError: `rate` not positive and finite, or `burst` < 1.
    """

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] | None = None) -> None:
        if not (isinstance(rate, (int, float)) and 0 < rate < math.inf):
            raise ValueError(f"rate must be a positive, finite number of tokens per second, got {rate!r}")
        if not (isinstance(burst, (int, float)) and burst >= 1):
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last: float | None = None

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _refill(self) -> None:
        now = self._now()
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self) -> bool:
        """Take a token if one is available now; True if taken."""
        self._refill()
        if self._tokens >= 1.0 - 1e-9:
            self._tokens -= 1.0
            return True
        return False

    async def acquire(self) -> None:
        """Wait (on the loop's clock) until a token is available, then take it.

        Cancelling the caller while it waits takes no token.
        """
        while not self.try_acquire():
            await asyncio.sleep((1.0 - self._tokens) / self.rate)


@dataclass(frozen=True)
class Prewarm:
    """What to pre-warm after a deploy: `keys` (e.g. the critical users), at most `rate`
    loads per second with a `burst` at the start, into the caches of `cohorts` (None: all).
    `concurrency` bounds loads in flight (a slow database cannot pile them up).
    `gate`: the new caches take traffic only once warm (a readiness gate; the old caches
    serve meanwhile) instead of warming while already serving."""

    keys: Sequence[Hashable]
    rate: float
    burst: float = 1.0
    concurrency: int = 8
    cohorts: Sequence[str] | None = None
    gate: bool = False

    def __post_init__(self) -> None:
        TokenBucket(self.rate, self.burst)  # validates
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise ValueError(f"concurrency must be a positive int, got {self.concurrency!r}")


@dataclass(frozen=True)
class PrewarmReport:
    """What a pre-warm did: keys `warmed` (loads that succeeded), `failed`, and the virtual
    seconds it took (`elapsed`)."""

    warmed: int
    failed: int
    elapsed: float
    errors: tuple = field(default=(), repr=False)


async def prewarm_keys(cache: Any, keys: Sequence[Hashable], plan: Prewarm,
                       bucket: TokenBucket | None = None) -> PrewarmReport:
    """Load `keys` into `cache` via `cache.get`, paced by `bucket` (default: a new
    `TokenBucket(plan.rate, plan.burst)`; share one to bound several pre-warms together)
    and at most `plan.concurrency` at once. Failures are counted, not raised.

    Raises:
        asyncio.CancelledError: if cancelled; loads already started are cancelled too.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    bucket = bucket if bucket is not None else TokenBucket(plan.rate, plan.burst)
    slots = asyncio.Semaphore(plan.concurrency)
    outcome = {"ok": 0, "failed": 0}
    errors: list[str] = []

    async def one(key: Hashable) -> None:
        try:
            await cache.get(key)
            outcome["ok"] += 1
        except Exception as exc:  # counted: a pre-warm never breaks the deploy
            outcome["failed"] += 1
            errors.append(f"{key!r}: {type(exc).__name__}")
        finally:
            slots.release()

    tasks: list[asyncio.Task[None]] = []
    try:
        for key in keys:
            await slots.acquire()
            await bucket.acquire()
            tasks.append(loop.create_task(one(key)))
        if tasks:
            await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        raise
    return PrewarmReport(outcome["ok"], outcome["failed"], loop.time() - start, tuple(errors))
