"""Loop binding and cached time for `SWRCache` (private).

A cache belongs to one event loop at a time and reads time from that loop's clock, or
from an injected one. On the stock asyncio loops, the gets that run within one loop
iteration share one clock reading (as nginx updates its cached time once per event
cycle): a burst of hits inside one callback reads the clock once. Readings are shared
only while enough hits use them; an injected clock and loops that override ``time()``
(virtual time, whose clock a driver may move inside a callback) are read every time.

>>> import asyncio
>>> from swrcache.stats import CacheStats
>>> class Probe(LoopClock):
...     def __init__(self):
...         self.stats = CacheStats()
...         self._init_clock(None)
...     def _on_rebind(self):
...         pass
>>> async def main():
...     probe = Probe()
...     return probe._read_clock() == probe._read_clock()   # one shared reading
>>> asyncio.run(main())
True
"""

from __future__ import annotations

import asyncio

from .clock import Clock

__all__ = ["LoopClock"]

# The stock event loops' clock (real monotonic time, read anew on every call). Loops that
# override `time()` (virtual-time loops) may move their clock inside a callback, so only
# the stock clock gets cached readings.
_STOCK_LOOP_TIME = asyncio.BaseEventLoop.time
# Cached time: a reading shared by fewer hits than this did not pay for its expiry
# callback (~1 us, vs ~0.1 us per clock read) ...
_CACHED_TIME_MIN_HITS = 12
# ... so that many clock reads go straight to the clock before cached time is tried
# again; the number doubles after every unprofitable try (up to the maximum).
_DIRECT_READS_MIN = 64
_DIRECT_READS_MAX = 4096


class LoopClock:
    """Base of `LoadPipeline`: which loop the cache is bound to, and what time it is there.

    Invariants (every field is written only by the methods of this class, except where
    noted; all run on the bound loop, never across an ``await``):

    - ``_clock``: the injected clock or None; written once, in `_init_clock`.
    - ``_loop``: the loop of the first call that needed one; rewritten only by
      `_bind_loop`, when a call comes from another loop after this one stopped (then
      `_on_rebind` drops everything read from the old clock).
    - ``_now``: how to read the time now. The injected clock (never rewritten); else one
      of three readers of the bound loop's clock: `_bind_and_read_time` (unbound, or
      after ``aclose``: the next read checks the loop), `_caching_reader` (stock loops:
      share the reading) or `_counting_reader` (stock loops, few hits per reading: read
      directly for a while); or ``loop.time`` itself (loops that override ``time()``).
    - ``_cached_now``: the reading shared until the current loop iteration ends, else
      None. Set only by `_read_time_caching`, which schedules `_expire_cached_time` to
      clear it; also cleared whenever `_now` is rebound. Always None with an injected
      clock. The hit paths read it before calling `_now`.
    - ``_cached_hits``: ``stats.hits`` when ``_cached_now`` was read; ``_direct_reads`` /
      ``_direct_backoff``: clock reads left before sharing is tried again, and how many
      the next unprofitable try earns.
    - ``stats``: the cache's `CacheStats` (created in ``SWRCache.__init__``; counters
      are bumped where things happen; only ``stats.hits`` is read here).
    """

    __slots__ = ("_clock", "_loop", "_now", "_cached_now", "_cached_hits", "_direct_reads",
                 "_direct_backoff", "_loop_time", "_caching_reader", "_counting_reader",
                 "stats")

    _clock: Clock | None
    _loop: asyncio.AbstractEventLoop | None
    _now: Clock
    _cached_now: float | None

    def _init_clock(self, clock: Clock | None) -> None:
        self._clock = clock
        self._loop = None
        self._now = clock if clock is not None else self._bind_and_read_time
        self._cached_now = None
        self._cached_hits = 0
        self._direct_reads = 0
        self._direct_backoff = _DIRECT_READS_MIN
        self._loop_time = None  # the bound loop's `time`
        # Bound once: `_now is self._caching_reader` compares identities.
        self._caching_reader = self._read_time_caching
        self._counting_reader = self._read_time_counting

    def _on_rebind(self) -> None:
        """Called when the cache moves to a new loop: drop state from the old clock."""
        raise NotImplementedError

    def _read_clock(self) -> float:
        """Now: the reading cached for this loop iteration, else a fresh one."""
        now = self._cached_now
        return self._now() if now is None else now

    def _unbind_clock(self) -> None:
        """After ``aclose``: the next read checks which loop runs the cache."""
        if self._clock is None:
            self._now = self._bind_and_read_time
            self._cached_now = None

    def _bind_and_read_time(self) -> float:
        self._use_loop_clock(self._bind_loop())  # (also after aclose on the same loop)
        return self._now()

    def _use_loop_clock(self, loop: asyncio.AbstractEventLoop) -> None:
        self._cached_now = None  # a reading (and its expiry) from before
        self._loop_time = loop.time
        if getattr(type(loop), "time", None) is _STOCK_LOOP_TIME:
            self._now = self._caching_reader
        else:
            self._now = loop.time

    def _read_time_caching(self) -> float:
        """Read the stock loop's clock and share the reading until this iteration ends.

        The reading stays in ``_cached_now`` until a ``call_soon`` callback, which runs
        after the callbacks of the current loop iteration, clears it. Trade-off: a
        callback that runs CPU-bound for seconds without yielding sees the time at which
        its first get read the clock (TTLs are seconds; asyncio's own timers are no more
        precise than that callback anyway).
        """
        loop = self._bind_loop()  # once per iteration: is this still our loop?
        if self._now is not self._caching_reader:
            return self._now()  # rebound to a loop whose clock is not cached
        now = loop.time()
        self._cached_now = now
        self._cached_hits = self.stats.hits  # type: ignore[attr-defined]
        loop.call_soon(self._expire_cached_time)
        return now

    def _expire_cached_time(self) -> None:
        self._cached_now = None
        if self._now is not self._caching_reader:
            return  # unbound or rebound meanwhile
        if self.stats.hits - self._cached_hits >= _CACHED_TIME_MIN_HITS:  # type: ignore[attr-defined]
            self._direct_backoff = _DIRECT_READS_MIN
        else:
            # Too few hits shared that reading to pay for the callback (a get or two per
            # iteration is typical of a server): read the clock directly for a while.
            self._direct_reads = self._direct_backoff
            self._direct_backoff = min(2 * self._direct_backoff, _DIRECT_READS_MAX)
            self._now = self._counting_reader

    def _read_time_counting(self) -> float:
        """Read the stock loop's clock directly; after a while, try cached time again."""
        left = self._direct_reads - 1
        self._direct_reads = left
        if left <= 0:
            self._now = self._caching_reader
        return self._loop_time()  # type: ignore[misc]

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, binding the cache to it; RuntimeError outside a loop."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return loop
        old = self._loop
        if old is not None:
            if old.is_running():
                raise RuntimeError(
                    "this SWRCache is bound to another event loop that is still running; "
                    "create one cache per event loop")
            # The old loop's clock is gone: its timestamps mean nothing here.
            self._on_rebind()
        self._loop = loop
        if self._clock is None:
            self._use_loop_clock(loop)
        return loop
