"""`run`: execute a coroutine to completion on a fresh `VirtualTimeLoop`.

Works inline (pytest, scripts) and from a running loop (a Jupyter cell): there the
simulation runs on a worker thread and the kernel's interrupt button stops it.
It uses only the loop's public API (see `cachesim.vtime`).

>>> import asyncio
>>> async def later():
...     await asyncio.sleep(1.5)
...     return asyncio.get_running_loop().time()
>>> run(later)
1.5
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, Union

from .vtime import VirtualTimeLoop

__all__ = ["run"]

T = TypeVar("T")

Main = Union[Callable[[], Awaitable[T]], Awaitable[T]]


def _run_on(loop: VirtualTimeLoop, main: Main[T]) -> T:
    try:
        asyncio.set_event_loop(loop)
        coro = main() if callable(main) else main
        task = loop.create_task(coro, name="simulation-main")  # type: ignore[arg-type]
        try:
            result = loop.run_until_complete(task)
        except BaseException:
            # Cancel what is left so no "Task was destroyed but it is pending" noise remains.
            _cancel_all(loop)
            raise
        # Like asyncio.run: background tasks still pending when main returns are cancelled.
        _cancel_all(loop)
        return result
    finally:
        loop.disarm()
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:
            pass
        asyncio.set_event_loop(None)
        loop.close()


def _cancel_all(loop: VirtualTimeLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not pending and not loop.has_fibers():
        return
    for t in pending:
        t.cancel()
    loop.disarm()
    try:
        loop.run_until_complete(asyncio.gather(loop.cancel_fibers(), *pending, return_exceptions=True))
    except BaseException:
        pass


def run(
    main: Main[T],
    *,
    start_time: float = 0.0,
    max_virtual_time: float = 24 * 3600.0,
    wall_timeout: float | None = 60.0,
    max_steps: int | None = None,
) -> T:
    """Run `main` (a coroutine function or coroutine) to completion in virtual time.

    Raises `SimulationDeadlock` if the program waits on something nothing will complete,
    `RunawaySimulation` past `max_virtual_time` virtual seconds, `wall_timeout` real
    seconds or `max_steps` loop steps (`SimulationStalled`, one of them, after about a
    million steps at one virtual instant), and re-raises whatever `main` raises.

    From a running event loop (a Jupyter cell) the simulation runs on a worker thread;
    interrupting the kernel stops it. Like `asyncio.run`, tasks still pending when `main`
    returns are cancelled (quietly) before the loop closes.

    >>> import asyncio
    >>> async def two_waits():
    ...     await asyncio.gather(asyncio.sleep(1), asyncio.sleep(3))
    ...     return asyncio.get_running_loop().time()
    >>> run(two_waits)
    3.0
    """
    if max_virtual_time <= 0:
        raise ValueError(f"max_virtual_time must be positive, got {max_virtual_time!r}")
    if wall_timeout is not None and wall_timeout <= 0:
        raise ValueError(f"wall_timeout must be positive or None, got {wall_timeout!r}")
    loop = VirtualTimeLoop(
        start_time=start_time,
        max_virtual_time=max_virtual_time,
        wall_timeout=wall_timeout,
        max_steps=max_steps,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_on(loop, main)  # no loop in this thread: run inline

    # A loop already runs here (ipykernel): run on a worker thread and wait for it.
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            outcome["value"] = _run_on(loop, main)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name="cachesim-virtual-time", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.05)
    except KeyboardInterrupt:
        loop.interrupt()
        thread.join(5.0)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
