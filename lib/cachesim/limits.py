"""The limits of a simulation run, and the errors (with their explanations) past them.

>>> issubclass(SimulationDeadlock, SimulationError) and issubclass(SimulationError, RuntimeError)
True
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = [
    "SimulationError",
    "SimulationDeadlock",
    "RunawaySimulation",
    "SimulationInterrupted",
    "describe_deadlock",
]


class SimulationError(RuntimeError):
    """Base class for problems with a simulation run itself (not with the code under test)."""


class SimulationDeadlock(SimulationError):
    """Nothing is ready and no timer is scheduled, yet the main coroutine has not finished."""


class RunawaySimulation(SimulationError):
    """Virtual time, wall time or the step count ran past its limit."""


class SimulationInterrupted(SimulationError):
    """The run was stopped from outside (for example the notebook's interrupt button)."""


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
