"""`Fiber`: a waiting request resumed from future callbacks, without an `asyncio.Task`.

Uses only `cachesim.vtime`'s public driver API (the loop's fiber registry and
`enter_task`/`leave_task`, which make it the current task while it runs).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any, Callable

from .vtime import VirtualTimeLoop, enter_task, leave_task

__all__ = ["Fiber"]

_copy_context = contextvars.copy_context


class Fiber:
    """Runs a coroutine to completion from future callbacks, without an `asyncio.Task`.

    For a coroutine already stepped once by hand (it yielded `awaiting`, a future): from
    the next loop step on, each time the future it waits on is done, the fiber steps it
    again, exactly where a Task would (the same callback, the same loop step), so the
    order of everything else stays a Task's. While it runs it is the current task, so
    ``asyncio.timeout`` and ``asyncio.current_task()`` work inside it, and it can be
    cancelled like a Task (``cancel``, ``cancelling``, ``uncancel``). When the coroutine
    ends, ``on_done(tag, exc)`` is called at once with ``exc`` None, or the exception it
    raised (``CancelledError`` included).

    >>> import asyncio
    >>> from cachesim import run
    >>> async def request():
    ...     await asyncio.sleep(1.0)
    ...     async with asyncio.timeout(5):  # needs a current task: the fiber
    ...         await asyncio.sleep(0.5)
    ...     return "done"
    >>> async def main():
    ...     loop, ended = asyncio.get_running_loop(), []
    ...     coro = request()
    ...     Fiber(loop, coro, coro.send(None), lambda tag, exc: ended.append((tag, exc, loop.time())), "r1")
    ...     await asyncio.sleep(2)
    ...     return ended
    >>> run(main)
    [('r1', None, 1.5)]
    """

    __slots__ = ("_loop", "_coro", "_on_done", "_tag", "_context", "_waiter", "_must_cancel",
                 "_cancel_message", "_cancels", "_done", "__weakref__")

    def __init__(self, loop: VirtualTimeLoop, coro: Any, awaiting: Any,
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
        loop.fiber_started(self)
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
        enter_task(loop, self)
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration:
            leave_task(loop, self)
            self._finish(asyncio.CancelledError() if self._must_cancel else None)
        except BaseException as error:  # noqa: BLE001 - handed to on_done
            leave_task(loop, self)
            self._finish(error)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
        else:
            leave_task(loop, self)
            if getattr(result, "_asyncio_future_blocking", None) and result.get_loop() is loop:
                result._asyncio_future_blocking = False  # _wait_on's common case, inlined
                result.add_done_callback(self._step, context=self._context)
                self._waiter = result
                if self._must_cancel and result.cancel(msg=self._cancel_message):
                    self._must_cancel = False
            else:
                self._wait_on(result)

    def _finish(self, exc: BaseException | None) -> None:
        self._done = True
        self._loop.fiber_ended(self)
        self._on_done(self._tag, exc)

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

    def get_loop(self) -> VirtualTimeLoop:
        return self._loop

    def get_name(self) -> str:
        return f"fiber-{self._tag}"

    def get_stack(self, *, limit: int | None = None) -> list[Any]:
        frame = getattr(self._coro, "cr_frame", None)
        return [frame] if frame is not None else []

    def __repr__(self) -> str:
        return f"<Fiber {self.get_name()} {'done' if self._done else 'waiting'}>"
