"""Virtual time for asyncio: an event loop whose clock jumps instead of sleeping.

`run(main)` executes a coroutine on a fresh `VirtualTimeLoop`. Every `asyncio.sleep`,
`wait_for`, `asyncio.timeout` and `loop.call_later` reads the loop's virtual clock, and
when nothing is ready to run the clock jumps straight to the next timer. A two-second
database refresh therefore costs microseconds of wall time, and the same program gives
the same timings on every machine.

It works from a notebook cell (where ipykernel already runs a loop: the simulation runs
on a worker thread) and from pytest (inline).

This is the only cachesim module that touches asyncio's loop internals. Drivers (the
request driver in `simulation`, the database) use this small public API instead:

- ``loop.now`` (also ``loop.time()``): the virtual clock, in seconds;
- ``loop.next_timer()``: when the earliest pending timer is due (None if there is none);
- ``loop.has_ready()``: whether a callback is ready to run in this step;
- ``loop.try_jump_to(when)``: move the clock to `when` if nothing would run before it;
- ``loop.check_limits()``: count a step of work and enforce the run's limits (call it
  every few thousand units of work done inside one callback);
- ``loop.runs_here()``: whether this loop is the one running in the calling thread;
- ``loop.wake_at(when, future)``: resolve `future` with None at `when` (unless it is done
  by then); returns the timer handle (``asyncio.sleep`` without the coroutine).

The loop itself is lean: `call_soon`, `call_at` and `call_later` build their handles
without the debug bookkeeping when debug mode is off, and timers live in a heap of
``(when, handle)`` pairs, which compares like asyncio's heap of handles (by `when`, ties
keep the same heap order) without a Python-level comparison per heap step.

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
import time
from asyncio import events, format_helpers
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, Union

__all__ = [
    "VirtualTimeLoop",
    "Fiber",
    "SimulationError",
    "SimulationDeadlock",
    "RunawaySimulation",
    "SimulationInterrupted",
    "run",
]

T = TypeVar("T")


class SimulationError(RuntimeError):
    """Base class for problems with a simulation run itself (not with the code under test)."""


class SimulationDeadlock(SimulationError):
    """Nothing is ready and no timer is scheduled, yet the main coroutine has not finished."""


class RunawaySimulation(SimulationError):
    """Virtual time, wall time or the step count ran past its limit."""


class SimulationInterrupted(SimulationError):
    """The run was stopped from outside (for example the notebook's interrupt button)."""


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

    __hash__ = _TimerHandle.__hash__


class _VirtualSelector(selectors.BaseSelector):
    """Wraps a real selector (it carries the loop's self-pipe); never blocks.

    The loop's own step (`VirtualTimeLoop._run_once`) polls it and moves the clock."""

    def __init__(self, loop: "VirtualTimeLoop") -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    # Registration is delegated: the loop's self-pipe (used by call_soon_threadsafe) is real.
    def register(self, fileobj, events, data=None):  # type: ignore[override]
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj):  # type: ignore[override]
        return self._real.unregister(fileobj)

    def modify(self, fileobj, events, data=None):  # type: ignore[override]
        return self._real.modify(fileobj, events, data)

    def get_key(self, fileobj):  # type: ignore[override]
        return self._real.get_key(fileobj)

    def get_map(self):  # type: ignore[override]
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout=None):  # type: ignore[override]
        return self._real.select(0)


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
        self._start_time = float(start_time)
        self._max_virtual_time = max_virtual_time
        self._wall_timeout = wall_timeout
        self._max_steps = max_steps
        self._steps = 0
        self._wall_start = time.monotonic()
        self._interrupted = False  # set from any thread by interrupt()
        self._countdown = 0  # steps until the self-pipe is polled again
        self._fibers: set[Fiber] = set()  # coroutines run by `resume`, not yet ended
        self._fibers_gone: asyncio.Future[None] | None = None
        super().__init__(selector=_VirtualSelector(self))
        # Timers within a nanosecond of "now" are due: virtual time has no jitter.
        self._clock_resolution = 1e-9
        # `time()` without a Python frame: caches and drivers read it several times a request.
        self.time = functools.partial(getattr, self, "_vnow")  # type: ignore[method-assign]

    def time(self) -> float:  # noqa: D102 - asyncio's API
        return self._vnow

    # -- the public driver API ---------------------------------------------------------------
    @property
    def now(self) -> float:
        """The virtual clock (the same as `time()`)."""
        return self._vnow

    def next_timer(self) -> float | None:
        """When the earliest pending timer is due (cancelled ones may count), or None."""
        scheduled = self._scheduled
        return scheduled[0][0] if scheduled else None

    def has_ready(self) -> bool:
        """True if a callback is ready to run in the current step."""
        return bool(self._ready)

    def check_limits(self) -> None:
        """Count one step and raise `RunawaySimulation` / `SimulationInterrupted` past a limit.

        The loop calls it once per step; a driver doing much work inside one callback calls
        it every few thousand units of work so limits and interrupts still apply."""
        self._check_limits()

    def runs_here(self) -> bool:
        """True if this loop is running in the calling thread (so it is the running loop),
        without `asyncio.get_running_loop()` (a system call per use in CPython 3.11)."""
        return self._thread_id == threading.get_ident()

    def wake_at(self, when: float, future: asyncio.Future[Any]) -> asyncio.TimerHandle:
        """Resolve `future` with None at virtual time `when`, unless it is done by then.

        What `asyncio.sleep` does, without its coroutine: ``h = loop.wake_at(t, fut)``,
        ``await fut``, and ``h.cancel()`` if the wait is abandoned."""
        return self.call_at(when, _set_result_unless_done, future)

    def call_each_at(self, times: list[float], callback: Callable[[int], None],
                     on_end: Callable[[BaseException | None], None],
                     tick: Callable[[int], None] | None = None) -> None:
        """Call ``callback(i)`` at virtual time ``times[i]`` for each i in order (`times` is
        sorted), as if each were a timer due then, without a timer each: while nothing else
        is ready or due, the clock jumps from one time to the next inside one callback.

        ``on_end(None)`` follows the last call; if a callback raises, the calls stop and
        ``on_end(exc)`` gets the exception. Every 4096 calls the run's limits are checked
        (`check_limits`) and ``tick(i)`` is called, if given."""
        _EachAt(self, times, callback, on_end, tick).arm()

    def resume(self, coro: Any, awaiting: Any, on_done: Callable[[Any, BaseException | None], None],
               tag: Any = None) -> "Fiber":
        """Run `coro`, already stepped once by hand (it yielded `awaiting`), to its end
        without a Task: see `Fiber`. ``on_done(tag, exc)`` is called when it ends."""
        return Fiber(self, coro, awaiting, on_done, tag)

    def has_fibers(self) -> bool:
        """True while a coroutine run by `resume` has not ended."""
        return bool(self._fibers)

    async def cancel_fibers(self) -> None:
        """Cancel every coroutine run by `resume` and wait until all have ended."""
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
        self._interrupted = False
        self._max_steps = self._steps + 1_000_000
        self._wall_timeout = 5.0
        self._wall_start = time.monotonic()
        self._max_virtual_time = float("inf")

    # -- lean scheduling (asyncio's semantics; handles built without the debug lookup) -------
    def call_soon(self, callback, *args, context=None):  # noqa: D102 - asyncio's API
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            return super().call_soon(callback, *args, context=context)
        handle = _LeanHandle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def _call_soon(self, callback, args, context):  # call_soon_threadsafe's path
        if self._debug:
            return super()._call_soon(callback, args, context)
        handle = _LeanHandle(callback, args, self, context)
        self._ready.append(handle)
        return handle

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
        return self.call_at(self._vnow + delay, callback, *args, context=context)

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
        max_steps = self._max_steps
        start, max_virtual = self._start_time, self._max_virtual_time
        while True:
            steps = self._steps + 1
            if self._interrupted or not steps & 4095 or (max_steps is not None and steps > max_steps):
                self._check_limits()  # counts the step and raises past a limit
            else:
                self._steps = steps
            scheduled = self._scheduled
            count = len(scheduled)
            if (count > _MIN_SCHEDULED_TIMER_HANDLES
                    and self._timer_cancelled_count / count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION):
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
            elif scheduled:
                timeout = min(max(0, scheduled[0][0] - now), _MAXIMUM_SELECT_TIMEOUT)
            else:
                timeout = None
            # The real selector only carries the self-pipe (call_soon_threadsafe, interrupt):
            # polling it every step would cost a syscall per step, so poll every 64 steps,
            # and always before declaring a deadlock.
            self._countdown -= 1
            event_list = None
            if self._countdown <= 0 or timeout is None:
                self._countdown = 64
                event_list = self._selector._real.select(0)
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
        self._interrupted = True
        try:
            self._write_to_self()
        except Exception:  # closed already
            pass

    def _advance(self, dt: float) -> None:
        self._advance_to(self._vnow + dt)

    def _advance_to(self, when: float) -> None:
        if when > self._vnow:
            self._vnow = when
        elapsed = self._vnow - self._start_time
        if elapsed > self._max_virtual_time:
            raise RunawaySimulation(
                f"virtual time passed max_virtual_time={self._max_virtual_time:g} s without the "
                "main coroutine finishing. Likely cause: a loop that keeps sleeping or polling "
                "(a `while True` with `await asyncio.sleep(...)`), or a workload with no end. "
                "Raise max_virtual_time if the run really is that long."
            )

    def try_jump_to(self, when: float) -> bool:
        """Move the clock to `when` if nothing else would run before it; True if moved.

        Used by request drivers to process many arrivals in one loop step: it is exactly what
        the loop itself would do (jump to the next due time) without a trip through the
        selector. False when a callback is ready or a timer is due at or before `when`;
        the caller should then schedule itself with `call_at(when, ...)`.
        """
        if self._ready:
            return False
        scheduled = self._scheduled
        if scheduled and scheduled[0][0] <= when:
            return False
        if when > self._vnow and when - self._start_time <= self._max_virtual_time:
            self._vnow = when  # _advance_to's fast path
        else:
            self._advance_to(when)
        return True

    def _check_limits(self) -> None:
        self._steps += 1
        if self._interrupted:
            raise SimulationInterrupted("the simulation was interrupted")
        if self._max_steps is not None and self._steps > self._max_steps:
            raise RunawaySimulation(
                f"the loop ran {self._max_steps} steps at virtual time {self._vnow:.6f} s. Likely "
                "cause: tasks that hand control back and forth without time passing "
                "(`await asyncio.sleep(0)` in a loop)."
            )
        # Checking the wall clock every step would cost a syscall; every 4096 steps is enough.
        if self._wall_timeout is not None and self._steps % 4096 == 0:
            if time.monotonic() - self._wall_start > self._wall_timeout:
                raise RunawaySimulation(
                    f"the simulation used more than wall_timeout={self._wall_timeout:g} s of real "
                    f"time (virtual time reached {self._vnow:.3f} s). Likely cause: tasks that "
                    "never wait on time, or far more simulated work than intended."
                )

    def _describe_deadlock(self) -> str:
        lines = [
            f"deadlock at virtual time {self._vnow:.6f} s: nothing is scheduled to run, yet the "
            "simulation has not finished. Some task is awaiting a future, event or lock that "
            "nothing will ever complete (a forgotten `set_result`, an un-released lock, or a "
            "waiter on a load that was dropped)."
        ]
        waiting = []
        for task in asyncio.all_tasks(self):
            if task.done():
                continue
            stack = task.get_stack(limit=1)
            where = (
                f"{stack[0].f_code.co_filename}:{stack[0].f_lineno} in {stack[0].f_code.co_name}"
                if stack
                else "?"
            )
            waiting.append(f"  - task {task.get_name()} waiting at {where}")
        for fiber in self._fibers:
            stack = fiber.get_stack()
            where = f"{stack[0].f_code.co_filename}:{stack[0].f_lineno} in {stack[0].f_code.co_name}" if stack else "?"
            waiting.append(f"  - request {fiber.get_name()} waiting at {where}")
        if waiting:
            lines.append("Tasks still waiting:")
            lines.extend(sorted(waiting)[:20])
            if len(waiting) > 20:
                lines.append(f"  ... and {len(waiting) - 20} more")
        return "\n".join(lines)


class _EachAt:
    """The state of one `VirtualTimeLoop.call_each_at`."""

    __slots__ = ("loop", "times", "callback", "on_end", "tick", "i")

    def __init__(self, loop: "VirtualTimeLoop", times: list[float], callback: Callable[[int], None],
                 on_end: Callable[[BaseException | None], None], tick: Callable[[int], None] | None) -> None:
        self.loop, self.times, self.callback, self.on_end, self.tick = loop, times, callback, on_end, tick
        self.i = 0

    def arm(self) -> None:
        loop = self.loop
        loop.call_at(self.times[0] if self.times else loop._vnow, self.pump)

    def pump(self) -> None:
        try:
            done = self._pump()
        except BaseException as exc:  # noqa: BLE001 - handed to on_end
            self.on_end(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return
        if done:
            self.on_end(None)

    def _pump(self) -> bool:
        loop = self.loop
        times = self.times
        n = len(times)
        i = self.i
        callback = self.callback
        tick = self.tick
        ready = loop._ready
        scheduled = loop._scheduled
        start, max_virtual = loop._start_time, loop._max_virtual_time
        try:
            while i < n:
                t = times[i]
                if t > loop._vnow:
                    # try_jump_to, inlined: move only if nothing is ready or due first.
                    if ready or (scheduled and scheduled[0][0] <= t):
                        if scheduled and scheduled[0][0] <= t:
                            loop.call_at(t, self.pump)  # a timer is due first: come back at t
                        else:
                            loop.call_soon(self.pump)  # only ready callbacks first
                        return False
                    if t - start <= max_virtual:
                        loop._vnow = t
                    else:
                        loop._advance_to(t)
                callback(i)
                i += 1
                if not i & 4095:
                    loop._check_limits()
                    if tick is not None:
                        tick(i)
        finally:
            self.i = i
        return True


class Fiber:
    """Runs a coroutine to completion from future callbacks, without an `asyncio.Task`.

    For a coroutine already stepped once by hand (it yielded `awaiting`, a future): from
    the next loop step on, each time the future it waits on is done, the fiber steps it
    again, exactly where a Task would (the same callback, the same loop step). While it runs it is the current task,
    so ``asyncio.timeout`` and ``asyncio.current_task()`` work inside it, and it can be
    cancelled like a Task (``cancel``, ``cancelling``, ``uncancel``). When the coroutine
    ends, ``on_done(tag, exc)`` is called at once with ``exc`` None, or the exception it
    raised (``CancelledError`` included). Create one with `VirtualTimeLoop.resume`.
    """

    __slots__ = ("_loop", "_coro", "_on_done", "_tag", "_context", "_waiter", "_must_cancel",
                 "_cancel_message", "_cancels", "_done", "__weakref__")

    def __init__(self, loop: "VirtualTimeLoop", coro: Any, awaiting: Any,
                 on_done: Callable[[Any, BaseException | None], None], tag: Any) -> None:
        self._loop = loop
        self._coro = coro
        self._on_done = on_done
        self._tag = tag
        self._context = _copy_context()
        self._waiter: Any = None
        self._must_cancel = False
        self._cancel_message: Any = None
        self._cancels = 0
        self._done = False
        loop._fibers.add(self)
        # A Task would take up the coroutine in its first step, in the next loop step: wait
        # on `awaiting` from then, so callbacks keep exactly a Task's order.
        loop.call_soon(self._wait_on, awaiting, context=self._context)

    def _wait_on(self, result: Any) -> None:
        # What Task.__step does with what the coroutine yielded.
        loop = self._loop
        if getattr(result, "_asyncio_future_blocking", None):
            if result.get_loop() is not loop:
                error = RuntimeError(f"{self!r} got Future {result!r} attached to a different loop")
                loop.call_soon(self._step, error, context=self._context)
                return
            result._asyncio_future_blocking = False
            result.add_done_callback(self._step, context=self._context)
            self._waiter = result
            if self._must_cancel and result.cancel(msg=self._cancel_message):
                self._must_cancel = False
        elif result is None:  # a bare yield: one loop step
            loop.call_soon(self._step, context=self._context)
        else:
            error = RuntimeError(f"{self!r} got bad yield: {result!r}")
            loop.call_soon(self._step, error, context=self._context)

    def _step(self, arg: Any = None) -> None:
        # Task.__step: `arg` is the future it waited on (a done callback), None (a bare
        # yield) or an exception to throw in.
        if self._done:
            return
        exc = arg if isinstance(arg, BaseException) else None
        if self._must_cancel:
            if not isinstance(exc, asyncio.CancelledError):
                exc = asyncio.CancelledError(*(() if self._cancel_message is None else (self._cancel_message,)))
            self._must_cancel = False
        self._waiter = None
        loop = self._loop
        _enter_task(loop, self)
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration:
            _leave_task(loop, self)
            self._finish(asyncio.CancelledError() if self._must_cancel else None)
        except BaseException as error:  # noqa: BLE001 - handed to on_done
            _leave_task(loop, self)
            self._finish(error)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
        else:
            _leave_task(loop, self)
            self._wait_on(result)

    def _finish(self, exc: BaseException | None) -> None:
        self._done = True
        loop = self._loop
        loop._fibers.discard(self)
        self._on_done(self._tag, exc)
        if not loop._fibers and loop._fibers_gone is not None and not loop._fibers_gone.done():
            loop._fibers_gone.set_result(None)

    # -- the parts of the Task interface that asyncio.timeout and current_task() users need
    def cancel(self, msg: Any = None) -> bool:
        """Ask the coroutine to stop: a CancelledError at its current wait (as Task.cancel)."""
        if self._done:
            return False
        self._cancels += 1
        if self._waiter is not None and self._waiter.cancel(msg=msg):
            return True
        self._must_cancel = True
        self._cancel_message = msg
        return True

    def cancelling(self) -> int:
        """Pending cancellation requests (as Task.cancelling)."""
        return self._cancels

    def uncancel(self) -> int:
        """Withdraw one cancellation request (as Task.uncancel)."""
        if self._cancels > 0:
            self._cancels -= 1
        return self._cancels

    def done(self) -> bool:
        """True once the coroutine has ended."""
        return self._done

    def get_coro(self) -> Any:
        return self._coro

    def get_loop(self) -> "VirtualTimeLoop":
        return self._loop

    def get_name(self) -> str:
        return f"fiber-{self._tag}"

    def get_stack(self, *, limit: int | None = None) -> list[Any]:
        frame = getattr(self._coro, "cr_frame", None)
        return [frame] if frame is not None else []

    def __repr__(self) -> str:
        return f"<Fiber {self.get_name()} {'done' if self._done else 'waiting'}>"


def _set_result_unless_done(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)




def __getattr__(name: str) -> Any:
    # `run` lives in `cachesim.runner` (it uses only this module's public API); it stays
    # importable from here: ``from cachesim.vtime import run``.
    if name == "run":
        from .runner import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
