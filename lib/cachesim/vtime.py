"""Virtual time for asyncio: an event loop whose clock jumps instead of sleeping.

`run(main)` executes a coroutine on a fresh `VirtualTimeLoop`. Every `asyncio.sleep`,
`wait_for`, `asyncio.timeout` and `loop.call_later` reads the loop's virtual clock, and
when nothing is ready to run the clock jumps straight to the next timer. A two-second
database refresh therefore costs microseconds of wall time, and the same program gives
the same timings on every machine (`cachesim.runner`: from pytest and notebook cells).

This is the only cachesim module that touches asyncio's loop internals. Drivers (the
request driver in `simulation`, `cachesim.fiber`, the database) use its public API:

- ``loop.time()``: the virtual clock, in seconds;
- ``loop.try_jump_to(when)``: move the clock to `when` if nothing would run before it;
- ``loop.call_each_at(times, callback, on_end, tick)``: ``callback(i)`` at each
  ``times[i]``, the clock jumping between them inside one callback (the arrival pump);
- ``loop.check_limits()``: count a step of work and enforce the run's limits;
- ``loop.runs_here()``: whether this loop is the running loop of the calling thread,
  without ``asyncio.get_running_loop()`` (a system call per use in CPython 3.11);
- ``loop.fiber_started(f)`` / ``fiber_ended(f)`` / ``has_fibers()`` /
  ``await loop.cancel_fibers()``: the registry of Task-less coroutines (`Fiber`);
- ``enter_task(loop, task)`` / ``leave_task(loop, task)``: make `task` the current task
  while it runs (asyncio's own functions, for Task-like runners);
- ``loop.interrupt()`` (any thread) and ``loop.disarm()`` (limits for clean-up).

The loop is lean and keeps asyncio's order exactly: handles are built without debug
bookkeeping, timers sit in a heap of ``(when, handle)`` pairs (compared in C, ties in the
same heap order as asyncio's heap of handles), and steps run without a selector wait.

>>> import asyncio
>>> from cachesim import run
>>> async def slow():
...     await asyncio.sleep(2.0)
...     return asyncio.get_running_loop().time()
>>> run(slow)
2.0
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import heapq
import selectors
import threading
from asyncio import events, format_helpers
from asyncio.tasks import _enter_task as enter_task
from asyncio.tasks import _leave_task as leave_task
from collections.abc import Callable
from typing import Any

from .limits import (
    Limits,
    RunawaySimulation,
    SimulationDeadlock,
    SimulationError,
    SimulationInterrupted,
    SimulationStalled,
    describe_deadlock,
    describe_stall,
)

__all__ = ["VirtualTimeLoop", "enter_task", "leave_task", "SimulationError", "SimulationDeadlock",
           "RunawaySimulation", "SimulationInterrupted", "SimulationStalled", "run"]

_copy_context = contextvars.copy_context
_heappush = heapq.heappush
_heappop = heapq.heappop
_Handle = events.Handle
_TimerHandle = events.TimerHandle
_MAXIMUM_SELECT_TIMEOUT = 24 * 3600  # asyncio.base_events.MAXIMUM_SELECT_TIMEOUT
# asyncio.base_events: clean cancelled timers out of the heap when there are this many
# timers and more than this fraction of them is cancelled.
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5


class _LeanHandle(_Handle):
    """An `asyncio.Handle` built without the per-handle debug lookup (debug is off)."""

    __slots__ = ()

    def __init__(self, callback, args, loop, context):  # noqa: D107
        self._context = context if context is not None else _copy_context()
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._repr = None
        self._source_traceback = None


class _LeanTimerHandle(_TimerHandle):
    """An `asyncio.TimerHandle` built without the debug lookup; equal only to itself.

    In the heap it sits in a ``(when, handle)`` pair: the pair compares by `when` in C, and
    only on equal times falls back to the handles (``==`` by identity, then ``<`` by
    `when`, which is False), so pops come out in exactly the order asyncio's own heap of
    handles gives.
    """

    __slots__ = ()

    def __init__(self, when, callback, args, loop, context):  # noqa: D107
        self._context = context if context is not None else _copy_context()
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._repr = None
        self._source_traceback = None
        self._when = when
        self._scheduled = True

    def __eq__(self, other: object) -> bool:
        return self is other

    def cancel(self) -> None:  # TimerHandle.cancel and Handle.cancel in one frame
        if not self._cancelled:
            loop = self._loop
            if self._scheduled:
                loop._timer_cancelled_count += 1
            self._cancelled = True
            if loop._debug:
                self._repr = repr(self)
            self._callback = None
            self._args = None

    __hash__ = _TimerHandle.__hash__


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop driven by a virtual clock.

    `time()` returns virtual seconds (starting at `start_time`). The loop never sleeps:
    when only timers are pending it jumps to the earliest one. Limits turn runaway or
    stuck programs into clear errors instead of hangs.
    """

    def __init__(
        self,
        *,
        start_time: float = 0.0,
        max_virtual_time: float = 24 * 3600.0,
        wall_timeout: float | None = 60.0,
        max_steps: int | None = None,
    ) -> None:
        self._vnow = float(start_time)
        #: The run's limits and step count (`cachesim.limits.Limits`).
        self.limits = Limits(float(start_time), max_virtual_time, wall_timeout, max_steps)
        self.limits.describe_stall = self._describe_stall
        self._countdown = 0  # steps until the self-pipe is polled again
        self._fibers: set[Any] = set()  # Fibers (cachesim.fiber) not yet ended
        self._fibers_gone: asyncio.Future[None] | None = None
        super().__init__(selector=selectors.DefaultSelector())  # carries only the self-pipe
        # Timers within a nanosecond of "now" are due: virtual time has no jitter.
        self._clock_resolution = 1e-9
        # `time()` and `create_future()` without a Python frame: read and made per request.
        self.time = functools.partial(getattr, self, "_vnow")  # type: ignore[method-assign]
        self.create_future = functools.partial(asyncio.Future, loop=self)  # type: ignore[method-assign]

    def time(self) -> float:  # noqa: D102 - asyncio's API
        return self._vnow

    # -- the public driver API ---------------------------------------------------------------
    def check_limits(self) -> None:
        """Count one step and raise `RunawaySimulation` / `SimulationInterrupted` past a limit.

        The loop calls it once per step; a driver doing much work inside one callback calls
        it every few thousand units of work so limits and interrupts still apply."""
        self.limits.step(self._vnow)

    def runs_here(self) -> bool:
        """True if this loop is running in the calling thread (so it is the running loop),
        without `asyncio.get_running_loop()` (a system call per use in CPython 3.11)."""
        return self._thread_id == threading.get_ident()

    def call_each_at(self, times: list[float], callback: Callable[[int], None],
                     on_end: Callable[[BaseException | None], None],
                     tick: Callable[[int], None] | None = None) -> None:
        """Call ``callback(i)`` at virtual time ``times[i]`` for each i in order (`times` is
        sorted), as if each were a timer due then, without a timer each: while nothing else
        is ready or due, the clock jumps from one time to the next inside one callback.

        ``on_end(None)`` follows the last call; if a callback raises, the calls stop and
        ``on_end(exc)`` gets the exception. Every 4096 calls the run's limits are checked
        (`check_limits`) and ``tick(i)`` is called, if given."""
        pump = _EachAt(self, times, callback, on_end, tick).pump
        self.call_at(times[0] if times else self._vnow, pump)

    def fiber_started(self, fiber: Any) -> None:
        """Register a running `cachesim.fiber.Fiber` (see `cancel_fibers`, deadlock reports)."""
        self._fibers.add(fiber)

    def fiber_ended(self, fiber: Any) -> None:
        """Forget a fiber whose coroutine has ended."""
        fibers = self._fibers
        fibers.discard(fiber)
        if not fibers and self._fibers_gone is not None and not self._fibers_gone.done():
            self._fibers_gone.set_result(None)

    def has_fibers(self) -> bool:
        """True while a registered fiber has not ended."""
        return bool(self._fibers)

    async def cancel_fibers(self) -> None:
        """Cancel every registered fiber and wait until all have ended."""
        if not self._fibers:
            return
        self._fibers_gone = self.create_future()
        for fiber in list(self._fibers):
            fiber.cancel()
        if self._fibers:
            await self._fibers_gone

    def disarm(self) -> None:
        """Fresh, generous limits for cleaning up after the run has ended or failed (so a
        task that ignores cancellation still cannot hang the caller)."""
        self.limits.disarm()

    # -- lean scheduling (asyncio's semantics; handles built without the debug lookup) -------
    def call_soon(self, callback, *args, context=None):  # noqa: D102 - asyncio's API
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            return super().call_soon(callback, *args, context=context)
        handle = _LeanHandle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def create_task(self, coro, *, name=None, context=None):  # noqa: D102 - asyncio's API
        if self._closed or self._task_factory is not None or self._debug:
            return super().create_task(coro, name=name, context=context)
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def call_at(self, when, callback, *args, context=None):  # noqa: D102 - asyncio's API
        if when is None:
            raise TypeError("when cannot be None")
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        timer = _LeanTimerHandle(when, callback, args, self, context)
        _heappush(self._scheduled, (when, timer))
        return timer

    def call_later(self, delay, callback, *args, context=None):  # noqa: D102 - asyncio's API
        if delay is None:
            raise TypeError("delay must not be None")
        if self._closed or self._debug:
            return self.call_at(self._vnow + delay, callback, *args, context=context)
        when = self._vnow + delay  # call_at, inlined
        timer = _LeanTimerHandle(when, callback, args, self, context)
        _heappush(self._scheduled, (when, timer))
        return timer

    def _run_once(self) -> None:
        """Loop steps until `stop()`: each is asyncio's `BaseEventLoop._run_once` with the
        clock jumping instead of the selector waiting (same order of callbacks, same
        clean-up of cancelled timers). `run_forever` calls this and, as `_stopping` is set
        when it returns, stops: many steps per call save a method call and lookups each."""
        ready = self._ready
        popleft = ready.popleft
        append = ready.append
        heappop = _heappop
        resolution = self._clock_resolution
        limits = self.limits
        max_steps = limits.max_steps
        start, max_virtual = limits.start_time, limits.max_virtual_time
        while True:
            steps = limits.steps + 1
            if limits.interrupted or not steps & 4095 or (max_steps is not None and steps > max_steps):
                limits.step(self._vnow)  # counts the step, raises past a limit
            else:
                limits.steps = steps
            scheduled = self._scheduled
            cancelled = self._timer_cancelled_count  # 0: no cancelled timer in the heap
            if not cancelled:
                pass
            elif (len(scheduled) > _MIN_SCHEDULED_TIMER_HANDLES
                    and cancelled / len(scheduled) > _MIN_CANCELLED_TIMER_HANDLES_FRACTION):
                kept = []
                for item in scheduled:
                    if item[1]._cancelled:
                        item[1]._scheduled = False
                    else:
                        kept.append(item)
                heapq.heapify(kept)
                self._scheduled = scheduled = kept
                self._timer_cancelled_count = 0
            else:
                while scheduled and scheduled[0][1]._cancelled:
                    self._timer_cancelled_count -= 1
                    heappop(scheduled)[1]._scheduled = False

            now = self._vnow
            if ready or self._stopping:
                timeout: float | None = 0
            elif scheduled:  # min(max(0, when - now), _MAXIMUM_SELECT_TIMEOUT)
                timeout = scheduled[0][0] - now
                if not timeout > 0:
                    timeout = 0
                elif timeout > _MAXIMUM_SELECT_TIMEOUT:
                    timeout = _MAXIMUM_SELECT_TIMEOUT
            else:
                timeout = None
            # The real selector only carries the self-pipe (call_soon_threadsafe, interrupt):
            # polling it every step would cost a syscall per step, so poll every 64 steps,
            # and always before declaring a deadlock.
            self._countdown -= 1
            event_list = None
            if self._countdown <= 0 or timeout is None:
                self._countdown = 64
                event_list = self._selector.select(0)  # never blocks
            if event_list:
                self._process_events(event_list)
                event_list = None
            elif timeout is None:
                # Nothing ready, no timer: only an outside thread could wake us, and a
                # deterministic simulation has none. Report instead of hanging forever.
                raise SimulationDeadlock(self._describe_deadlock())
            elif timeout > 0:
                # Jump exactly onto the earliest timer (no floating-point drift from adding
                # `when - now` to now), unless the timeout was clamped.
                when = scheduled[0][0]
                if when - now > timeout * (1 + 1e-12):
                    self._advance(timeout)
                elif when - start <= max_virtual:
                    self._vnow = when  # _advance_to's fast path
                else:
                    self._advance_to(when)
                now = self._vnow

            end_time = now + resolution
            while scheduled and scheduled[0][0] < end_time:
                handle = heappop(scheduled)[1]
                handle._scheduled = False
                append(handle)

            if self._debug:
                for _ in range(len(ready)):
                    handle = popleft()
                    if handle._cancelled:
                        continue
                    try:
                        self._current_handle = handle
                        handle._run()
                    finally:
                        self._current_handle = None
            else:
                for _ in range(len(ready)):
                    handle = popleft()
                    if handle._cancelled:
                        continue
                    try:  # Handle._run, inlined
                        handle._context.run(handle._callback, *handle._args)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        self._callback_failed(handle, exc)
            handle = None  # break cycles when an exception occurs
            if self._stopping:
                return

    def _callback_failed(self, handle: asyncio.Handle, exc: BaseException) -> None:
        # What Handle._run reports when its callback raises.
        source = format_helpers._format_callback_source(handle._callback, handle._args)
        context = {"message": f"Exception in callback {source}", "exception": exc, "handle": handle}
        if handle._source_traceback:
            context["source_traceback"] = handle._source_traceback
        self.call_exception_handler(context)

    def interrupt(self) -> None:
        """Ask the loop (from any thread) to stop at its next step with SimulationInterrupted."""
        self.limits.interrupted = True
        try:
            self._write_to_self()
        except Exception:  # closed already
            pass

    def _advance(self, dt: float) -> None:
        self._advance_to(self._vnow + dt)

    def _advance_to(self, when: float) -> None:
        if when > self._vnow:
            self._vnow = when
        self.limits.check_time(self._vnow)

    def try_jump_to(self, when: float) -> bool:
        """Move the clock to `when` if nothing else would run before it; True if moved
        (exactly what the loop would do). False when a callback is ready or a timer is due
        at or before `when`: the caller should then come back with `call_at(when, ...)`."""
        if self._ready:
            return False
        scheduled = self._scheduled
        if scheduled and scheduled[0][0] <= when:
            return False
        limits = self.limits
        if when > self._vnow and when - limits.start_time <= limits.max_virtual_time:
            self._vnow = when  # _advance_to's fast path
        else:
            self._advance_to(when)
        return True

    def _describe_deadlock(self) -> str:
        return describe_deadlock(self._vnow, asyncio.all_tasks(self), self._fibers)

    def _describe_stall(self, now: float) -> str:
        due = [h for when, h in self._scheduled if when < now + self._clock_resolution]
        return describe_stall(now, self.limits.still_steps, [*self._ready, *due],
                              asyncio.all_tasks(self), self._fibers)


class _EachAt:
    """The state of one `VirtualTimeLoop.call_each_at`."""

    __slots__ = ("loop", "times", "callback", "on_end", "tick", "i")

    def __init__(self, loop: VirtualTimeLoop, times: list[float], callback: Callable[[int], None],
                 on_end: Callable[[BaseException | None], None], tick: Callable[[int], None] | None) -> None:
        self.loop, self.times, self.callback, self.on_end, self.tick, self.i = loop, times, callback, on_end, tick, 0

    def pump(self) -> None:
        loop, times, i, callback, tick = self.loop, self.times, self.i, self.callback, self.tick
        n = len(times)
        ready, scheduled = loop._ready, loop._scheduled
        limits = loop.limits
        start, max_virtual = limits.start_time, limits.max_virtual_time
        try:
            while i < n:
                t = times[i]
                if t > loop._vnow:
                    # try_jump_to, inlined: move only if nothing is ready or due first.
                    if ready or (scheduled and scheduled[0][0] <= t):
                        self.i = i
                        if scheduled and scheduled[0][0] <= t:
                            loop.call_at(t, self.pump)  # a timer is due first: come back at t
                        else:
                            loop.call_soon(self.pump)  # only ready callbacks first
                        return
                    if t - start <= max_virtual:
                        loop._vnow = t
                    else:
                        loop._advance_to(t)
                callback(i)
                i += 1
                if not i & 4095:
                    limits.step(loop._vnow)
                    if tick is not None:
                        tick(i)
        except BaseException as exc:  # noqa: BLE001 - handed to on_end
            self.i = i
            self.on_end(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return
        self.i = n
        self.on_end(None)


def __getattr__(name: str) -> Any:
    # `run` lives in `cachesim.runner` (it uses only this module's public API); it stays
    # importable from here: ``from cachesim.vtime import run``.
    if name == "run":
        from .runner import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
