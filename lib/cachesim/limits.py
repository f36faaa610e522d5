"""The limits of a simulation run, and the errors (with their explanations) past them.

>>> issubclass(SimulationDeadlock, SimulationError) and issubclass(SimulationError, RuntimeError)
True
"""

from __future__ import annotations

import time
from typing import Any, Iterable

__all__ = [
    "SimulationError",
    "SimulationDeadlock",
    "RunawaySimulation",
    "SimulationInterrupted",
    "SimulationStalled",
    "STALL_STEPS",
    "describe_deadlock",
    "describe_stall",
    "Limits",
]

#: Loop steps in a row at one virtual instant before a run is stopped as stalled. A step
#: runs every ready callback at once, so honest work at one instant (a stampede of
#: thousands of requests) takes a few steps, not a million.
STALL_STEPS = 1 << 20


class SimulationError(RuntimeError):
    """Base class for problems with a simulation run itself (not with the code under test)."""


class SimulationDeadlock(SimulationError):
    """Nothing is ready and no timer is scheduled, yet the main coroutine has not finished."""


class RunawaySimulation(SimulationError):
    """Virtual time, wall time or the step count ran past its limit."""


class SimulationStalled(RunawaySimulation):
    """The loop keeps running callbacks at one virtual instant: work is pending, but
    nothing it does lets the clock move (a livelock, such as two callbacks that each
    re-schedule themselves for "now" while waiting for the other, or for time, to pass)."""


class SimulationInterrupted(SimulationError):
    """The run was stopped from outside (for example the notebook's interrupt button)."""


class Limits:
    """A run's limits and the count of loop steps; `VirtualTimeLoop.limits`.

    The loop counts a step with ``steps += 1`` unless a check is due (an interrupt, the step
    limit, or every 4096th step, when the wall clock is read): then it calls `step`. It
    calls `check_time` when the clock would pass ``start_time + max_virtual_time``.
    """

    __slots__ = ("start_time", "max_virtual_time", "wall_timeout", "max_steps", "steps",
                 "wall_start", "interrupted", "stall_steps", "still_at", "still_steps", "describe_stall")

    def __init__(self, start_time: float, max_virtual_time: float, wall_timeout: float | None,
                 max_steps: int | None) -> None:
        self.start_time = start_time
        self.max_virtual_time = max_virtual_time
        self.wall_timeout = wall_timeout
        self.max_steps = max_steps
        self.steps = 0
        self.wall_start = time.monotonic()
        self.interrupted = False  # set from any thread by VirtualTimeLoop.interrupt()
        self.stall_steps = STALL_STEPS
        self.still_at: float | None = None  # the clock at the last 4096th step
        self.still_steps = 0  # steps since the clock last moved (counted 4096 at a time)
        #: ``describe_stall(now)``: what is stuck, for `SimulationStalled` (set by the loop).
        self.describe_stall = lambda now: describe_stall(now, self.still_steps, (), (), ())

    def step(self, now: float) -> None:
        """Count one step; raise `SimulationInterrupted` or `RunawaySimulation` past a limit."""
        self.steps += 1
        if self.interrupted:
            raise SimulationInterrupted("the simulation was interrupted")
        if self.max_steps is not None and self.steps > self.max_steps:
            raise RunawaySimulation(too_many_steps(self.max_steps, now))
        # Checking the wall clock every step would cost a syscall; every 4096 steps is enough.
        if self.steps % 4096 == 0:
            if self.wall_timeout is not None and time.monotonic() - self.wall_start > self.wall_timeout:
                raise RunawaySimulation(too_much_wall_time(self.wall_timeout, now))
            # The clock never goes back: the same time 4096 steps apart means every step
            # between ran at that instant.
            if now != self.still_at:
                self.still_at, self.still_steps = now, 0
            else:
                self.still_steps += 4096
                if self.still_steps >= self.stall_steps:
                    raise SimulationStalled(self.describe_stall(now))

    def check_time(self, now: float) -> None:
        """Raise `RunawaySimulation` if `now` is past the virtual-time limit."""
        if now - self.start_time > self.max_virtual_time:
            raise RunawaySimulation(too_much_virtual_time(self.max_virtual_time))

    def disarm(self) -> None:
        """Fresh, generous limits for cleaning up after the run has ended or failed."""
        self.interrupted = False
        self.max_steps = self.steps + 1_000_000
        self.wall_timeout = 5.0
        self.wall_start = time.monotonic()
        self.max_virtual_time = float("inf")
        self.still_at, self.still_steps = None, 0


def too_much_virtual_time(max_virtual_time: float) -> str:
    return (
        f"virtual time passed max_virtual_time={max_virtual_time:g} s without the "
        "main coroutine finishing. Likely cause: a loop that keeps sleeping or polling "
        "(a `while True` with `await asyncio.sleep(...)`), or a workload with no end. "
        "Raise max_virtual_time if the run really is that long."
    )


def too_many_steps(max_steps: int, now: float) -> str:
    return (
        f"the loop ran {max_steps} steps at virtual time {now:.6f} s. Likely "
        "cause: tasks that hand control back and forth without time passing "
        "(`await asyncio.sleep(0)` in a loop)."
    )


def too_much_wall_time(wall_timeout: float, now: float) -> str:
    return (
        f"the simulation used more than wall_timeout={wall_timeout:g} s of real "
        f"time (virtual time reached {now:.3f} s). Likely cause: tasks that "
        "never wait on time, or far more simulated work than intended."
    )


def _where(stack: list[Any]) -> str:
    if not stack:
        return "?"
    code = stack[0].f_code
    return f"{code.co_filename}:{stack[0].f_lineno} in {code.co_name}"


def describe_stall(now: float, steps: int, callbacks: Iterable[Any], tasks: Iterable[Any],
                   fibers: Iterable[Any]) -> str:
    """What `SimulationStalled` says: the instant, the callbacks that keep running there
    (ready or due), who still waits where."""
    lines = [
        f"stalled at virtual time {now!r} s: the loop ran {steps} steps "
        "at this instant without the clock moving, while work is pending. Something keeps "
        "re-scheduling itself for now instead of waiting for time to pass (a polling loop with "
        "`await asyncio.sleep(0)`, or a timer re-armed for a deadline the clock can never reach)."
    ]
    counts: dict[str, int] = {}
    for h in callbacks:
        cb = getattr(h, "_callback", None)
        owner = getattr(cb, "__self__", None)  # a Task's step or wake-up: name the task
        name = (f"task {owner.get_name()}" if callable(getattr(owner, "get_name", None))
                else getattr(cb, "__qualname__", None) or type(cb).__name__)
        when = getattr(h, "_when", None)
        label = name if when is None else f"{name} (timer due at {when!r})"
        counts[label] = counts.get(label, 0) + 1
    if counts:
        lines.append("Running at this instant:")
        lines.extend(f"  - {label}" + (f" x{n}" if n > 1 else "") for label, n in sorted(counts.items())[:20])
    return "\n".join(lines + _waiting_lines(tasks, fibers))


def _waiting_lines(tasks: Iterable[Any], fibers: Iterable[Any]) -> list[str]:
    waiting = [f"  - task {t.get_name()} waiting at {_where(t.get_stack(limit=1))}"
               for t in tasks if not t.done()]
    waiting += [f"  - request {f.get_name()} waiting at {_where(f.get_stack())}" for f in fibers]
    if not waiting:
        return []
    lines = ["Tasks still waiting:", *sorted(waiting)[:20]]
    if len(waiting) > 20:
        lines.append(f"  ... and {len(waiting) - 20} more")
    return lines


def describe_deadlock(now: float, tasks: Iterable[Any], fibers: Iterable[Any]) -> str:
    """What `SimulationDeadlock` says: the time, the likely causes, who still waits where."""
    lines = [
        f"deadlock at virtual time {now:.6f} s: nothing is scheduled to run, yet the "
        "simulation has not finished. Some task is awaiting a future, event or lock that "
        "nothing will ever complete (a forgotten `set_result`, an un-released lock, or a "
        "waiter on a load that was dropped)."
    ]
    return "\n".join(lines + _waiting_lines(tasks, fibers))
