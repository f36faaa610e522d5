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
    "describe_deadlock",
    "Limits",
]


class SimulationError(RuntimeError):
    """Base class for problems with a simulation run itself (not with the code under test)."""


class SimulationDeadlock(SimulationError):
    """Nothing is ready and no timer is scheduled, yet the main coroutine has not finished."""


class RunawaySimulation(SimulationError):
    """Virtual time, wall time or the step count ran past its limit."""


class SimulationInterrupted(SimulationError):
    """The run was stopped from outside (for example the notebook's interrupt button)."""


class Limits:
    """A run's limits and the count of loop steps; `VirtualTimeLoop.limits`.

    The loop counts a step with ``steps += 1`` unless a check is due (an interrupt, the step
    limit, or every 4096th step, when the wall clock is read): then it calls `step`. It
    calls `check_time` when the clock would pass ``start_time + max_virtual_time``.
    """

    __slots__ = ("start_time", "max_virtual_time", "wall_timeout", "max_steps", "steps",
                 "wall_start", "interrupted")

    def __init__(self, start_time: float, max_virtual_time: float, wall_timeout: float | None,
                 max_steps: int | None) -> None:
        self.start_time = start_time
        self.max_virtual_time = max_virtual_time
        self.wall_timeout = wall_timeout
        self.max_steps = max_steps
        self.steps = 0
        self.wall_start = time.monotonic()
        self.interrupted = False  # set from any thread by VirtualTimeLoop.interrupt()

    def step(self, now: float) -> None:
        """Count one step; raise `SimulationInterrupted` or `RunawaySimulation` past a limit."""
        self.steps += 1
        if self.interrupted:
            raise SimulationInterrupted("the simulation was interrupted")
        if self.max_steps is not None and self.steps > self.max_steps:
            raise RunawaySimulation(too_many_steps(self.max_steps, now))
        # Checking the wall clock every step would cost a syscall; every 4096 steps is enough.
        if self.wall_timeout is not None and self.steps % 4096 == 0:
            if time.monotonic() - self.wall_start > self.wall_timeout:
                raise RunawaySimulation(too_much_wall_time(self.wall_timeout, now))

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


def describe_deadlock(now: float, tasks: Iterable[Any], fibers: Iterable[Any]) -> str:
    """What `SimulationDeadlock` says: the time, the likely causes, who still waits where."""
    lines = [
        f"deadlock at virtual time {now:.6f} s: nothing is scheduled to run, yet the "
        "simulation has not finished. Some task is awaiting a future, event or lock that "
        "nothing will ever complete (a forgotten `set_result`, an un-released lock, or a "
        "waiter on a load that was dropped)."
    ]
    waiting = [f"  - task {t.get_name()} waiting at {_where(t.get_stack(limit=1))}"
               for t in tasks if not t.done()]
    waiting += [f"  - request {f.get_name()} waiting at {_where(f.get_stack())}" for f in fibers]
    if waiting:
        lines.append("Tasks still waiting:")
        lines.extend(sorted(waiting)[:20])
        if len(waiting) > 20:
            lines.append(f"  ... and {len(waiting) - 20} more")
    return "\n".join(lines)
