"""A rate limiter that lives in the event loop's time, not the wall clock.

`asyncio_throttle.Throttler` reads `time.monotonic()` and polls with `asyncio.sleep`, so
under a virtual clock it throttles in real time and inflates virtual time.
`LoopThrottler` keeps its public interface (`rate_limit`, `period`, `acquire`,
`async with`) but reads `loop.time()` and wakes waiters exactly when a slot frees, in
arrival order (FIFO), so it holds its rate exactly and deterministically.

>>> import asyncio
>>> from cachesim import run
>>> async def main():
...     throttle = LoopThrottler(rate_limit=10, period=1.0)
...     for _ in range(25):
...         await throttle.acquire()
...     return asyncio.get_running_loop().time()
>>> run(main)   # 25 acquisitions at 10 per second: the 21st waits until t=2.0
2.0
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Deque

from asyncio_throttle import Throttler

__all__ = ["LoopThrottler"]


class LoopThrottler(Throttler):
    """At most `rate_limit` acquisitions in any window of `period` seconds of loop time.

    A sliding window (like asyncio-throttle's), but waiters queue in FIFO order and are
    woken by one timer at the exact moment the oldest acquisition leaves the window.
    The window is kept in the times the throttle records; a waiter's query can start up
    to the loop's clock resolution (1 ns on `VirtualTimeLoop`) before its recorded time,
    because asyncio runs a timer that early (see `_release`).

    Args:
        rate_limit: acquisitions allowed per `period` (a positive integer).
        period: window length in seconds of loop time (positive).
    """

    def __init__(self, rate_limit: int, period: float = 1.0, retry_interval: float = 0.01) -> None:
        if not isinstance(rate_limit, int) or isinstance(rate_limit, bool) or rate_limit <= 0:
            raise ValueError(f"rate_limit must be a positive integer, got {rate_limit!r}")
        if not period > 0:
            raise ValueError(f"period must be positive, got {period!r}")
        super().__init__(rate_limit, period=period, retry_interval=retry_interval)
        self._waiters: Deque[asyncio.Future[None]] = deque()
        self._timer: object | None = None  # TimerHandle, _SOON or None

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def flush(self, now: float | None = None) -> None:
        """Drop acquisitions that have left the window (those at least `period` old)."""
        if now is None:
            now = self._now()
        logs = self._task_logs
        period = self.period
        # Same expression as the release timer's deadline: `now - period` can round below
        # `t + period - period`, re-arming the timer at the same instant forever.
        while logs and logs[0] + period <= now:
            logs.popleft()

    @property
    def waiting(self) -> int:
        """Number of callers queued for a slot."""
        return sum(1 for w in self._waiters if not w.done())

    async def acquire(self) -> None:
        """Wait (in loop time) until a slot is free, then take it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.flush(now)
        if not self._waiters and len(self._task_logs) < self.rate_limit:
            self._task_logs.append(now)
            return
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        self._arm(loop)
        # The slot is recorded by _release before fut resolves; a cancelled waiter whose
        # future was already granted gives its slot back by leaving the log as is (the
        # rate is an upper bound, never exceeded).
        await fut

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None or not self._task_logs:
            if self._timer is None and not self._task_logs:
                loop.call_soon(self._release)
                self._timer = _SOON
            return
        deadline = self._task_logs[0] + self.period
        self._timer = loop.call_at(deadline, self._release, deadline)

    def _release(self, deadline: float | None = None) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        # asyncio runs a timer up to the clock resolution before its deadline, and the clock
        # does not move for it: e.g. now 2.0599999999999996 for a slot taken at 1.06, due at
        # 2.06. Flushing at `now` would free nothing and re-arm this timer for the same
        # deadline, due at once again; while another callback waits for that instant too
        # (the arrival pump), the loop never idles, so the clock never jumps: a livelock.
        # The timer stands for its deadline: take the slot at that time, not before.
        if deadline is not None and deadline > now:
            now = deadline
        self.flush(now)
        waiters = self._waiters
        logs = self._task_logs
        while waiters and len(logs) < self.rate_limit:
            fut = waiters.popleft()
            if fut.done():  # cancelled while queued
                continue
            logs.append(now)
            fut.set_result(None)
        while waiters and waiters[0].done():
            waiters.popleft()
        if waiters:
            self._arm(loop)


class _Soon:
    """Marker: a release is already queued with call_soon."""


_SOON = _Soon()
