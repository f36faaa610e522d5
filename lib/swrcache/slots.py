"""`PrioritySlots`: a semaphore whose waiters are served by priority, then FIFO.

Used by `SWRCache` for per-key load concurrency and for the optional global refresh
budget, where critical keys (priority 0) get a free slot before others (priority 1).

>>> import asyncio
>>> async def main():
...     slots, order = PrioritySlots(1), []
...     await slots.acquire()
...     async def worker(name, priority):
...         await slots.acquire(priority)
...         order.append(name)
...         slots.release()
...     tasks = [asyncio.create_task(worker("normal", 1)),
...              asyncio.create_task(worker("critical", 0))]
...     await asyncio.sleep(0)
...     slots.release()
...     await asyncio.gather(*tasks)
...     return order
>>> asyncio.run(main())
['critical', 'normal']
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["PrioritySlots"]


class PrioritySlots:
    """At most `limit` holders at once; waiters wake in (priority, arrival) order.

    A cancelled waiter never takes a slot; a slot handed to a waiter that is cancelled at
    the same moment is passed on. Lower priority numbers go first.

    >>> s = PrioritySlots(2); s.try_acquire(), s.try_acquire(), s.try_acquire()
    (True, True, False)
    """

    __slots__ = ("limit", "used", "_waiters", "_counter")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        self.limit = limit
        self.used = 0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    @property
    def waiting(self) -> int:
        """Waiters not yet served (cancelled ones may be counted until skipped).

        >>> PrioritySlots(1).waiting
        0
        """
        return sum(1 for _, _, f in self._waiters if not f.done())

    def idle(self) -> bool:
        """True when nobody holds or waits for a slot.

        >>> PrioritySlots(1).idle()
        True
        """
        if self.used:
            return False
        return not self._waiters or not any(not f.done() for _, _, f in self._waiters)

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody is queued; never waits.

        >>> PrioritySlots(1).try_acquire()
        True
        """
        if self.used < self.limit and not self._waiters:
            self.used += 1
            return True
        return False

    async def acquire(self, priority: int = 1) -> None:
        """Wait for a slot (lower `priority` first). Pair every acquire with `release()`.

        >>> import asyncio
        >>> asyncio.run(PrioritySlots(1).acquire())
        """
        if self.try_acquire():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._counter), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                # The slot was handed to us just as we were cancelled: pass it on.
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back: hand it to the best waiter, or free it.

        >>> s = PrioritySlots(1); s.try_acquire(); s.release(); s.used
        True
        0
        """
        waiters = self._waiters
        while waiters:
            _, _, fut = heapq.heappop(waiters)
            if not fut.done():
                fut.set_result(None)  # the slot moves to the waiter; `used` is unchanged
                return
        if self.used <= 0:
            raise RuntimeError("release() without a matching acquire()")
        self.used -= 1

    def __repr__(self) -> str:
        return f"<PrioritySlots used={self.used}/{self.limit} waiting={self.waiting}>"
