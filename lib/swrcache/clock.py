"""Where swrcache reads time: the running event loop's clock, unless one is injected.

swrcache never reads the wall clock. By default it asks the running asyncio loop for
`loop.time()`, so a virtual-time loop (one whose clock jumps instead of sleeping) drives
every TTL, timeout, cool-down and backoff. Tests and simulations can instead inject any
zero-argument callable returning seconds as a float.

>>> import asyncio
>>> async def main():
...     return loop_time() <= asyncio.get_running_loop().time()
>>> asyncio.run(main())
True
>>> ManualClock(5.0)()
5.0
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Clock", "loop_time", "ManualClock"]

#: A clock is a zero-argument callable returning monotonic seconds as a float.
Clock = Callable[[], float]


def loop_time() -> float:
    """Return the running event loop's `time()`; raise RuntimeError outside a loop.

    >>> import asyncio
    >>> async def now():
    ...     return isinstance(loop_time(), float)
    >>> asyncio.run(now())
    True
    """
    return asyncio.get_running_loop().time()


class ManualClock:
    """A clock that only moves when told to: handy for unit tests of time-based parts.

    >>> clock = ManualClock()
    >>> clock()
    0.0
    >>> clock.advance(2.5)
    >>> clock()
    2.5
    """

    __slots__ = ("now",)

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (which must not be negative)."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        self.now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self.now!r})"
