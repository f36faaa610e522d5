"""`Singleflight`: concurrent calls for one key share a single execution.

Modelled on Go's ``golang.org/x/sync/singleflight``, adapted to asyncio cancellation:

- callers of ``do(key, fn)`` while an execution for `key` is in flight wait for it and
  all get its result, or all get its exception;
- nothing is remembered: once the execution finishes, the next ``do`` runs `fn` again
  (an exception is never cached);
- ``forget(key)`` makes the next ``do`` start a new execution; the forgotten one still
  finishes for its own callers and, when it does, does not remove the newer one;
- cancelling a caller cancels only that caller's wait; the shared execution is
  cancelled when the last caller waiting on it goes away.

>>> import asyncio
>>> async def main():
...     sf, calls = Singleflight(), []
...     async def fetch():
...         calls.append(1)
...         await asyncio.sleep(0.01)
...         return "value"
...     results = await asyncio.gather(*(sf.do("k", fetch) for _ in range(5)))
...     return results, len(calls)
>>> asyncio.run(main())
(['value', 'value', 'value', 'value', 'value'], 1)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Singleflight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Call(Generic[V]):
    """One in-flight execution and how many callers still wait on it."""

    __slots__ = ("task", "waiters")

    def __init__(self) -> None:
        self.task: asyncio.Task[V] | None = None
        self.waiters = 0


class Singleflight(Generic[K, V]):
    """Duplicate-call suppression for async functions.

    ``await sf.do(key, fn)`` runs ``fn()`` (a zero-argument async callable) in its own
    task unless an execution for `key` is already in flight, in which case it waits for
    that one. Must be used from a single event loop.

    >>> import asyncio
    >>> async def main():
    ...     sf = Singleflight()
    ...     async def boom():
    ...         raise ValueError("db down")
    ...     try:
    ...         await sf.do("k", boom)
    ...     except ValueError as exc:
    ...         first = str(exc)
    ...     async def ok():
    ...         return 42
    ...     return first, await sf.do("k", ok)   # the error was not remembered
    >>> asyncio.run(main())
    ('db down', 42)
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[K, _Call[V]] = {}

    def __contains__(self, key: object) -> bool:
        """True while an execution for `key` is in flight (and not forgotten)."""
        return key in self._calls

    def __len__(self) -> int:
        return len(self._calls)

    def waiters(self, key: K) -> int:
        """How many callers wait on the in-flight execution for `key` (0 if none).

        >>> Singleflight().waiters("k")
        0
        """
        call = self._calls.get(key)
        return call.waiters if call is not None else 0

    async def do(self, key: K, fn: Callable[[], Awaitable[V]]) -> V:
        """Return the result of the shared execution of ``fn()`` for `key`, or raise its error.

        >>> import asyncio
        >>> async def one():
        ...     return 1
        >>> asyncio.run(Singleflight().do("k", one))
        1
        """
        call = self._calls.get(key)
        if call is None:
            call = _Call()
            call.task = asyncio.get_running_loop().create_task(self._execute(key, call, fn))
            self._calls[key] = call
        task = call.task
        assert task is not None
        call.waiters += 1
        try:
            # shield: cancelling this caller cancels only its own wait.
            return await asyncio.shield(task)
        finally:
            call.waiters -= 1
            if call.waiters == 0 and not task.done():
                # Nobody waits any more: stop the work and let the next caller start afresh.
                task.cancel()
                if self._calls.get(key) is call:
                    del self._calls[key]

    def forget(self, key: K) -> None:
        """Make the next ``do(key, ...)`` start a new execution.

        Callers already waiting keep waiting for the old execution.

        >>> sf = Singleflight(); sf.forget("nothing-in-flight")
        """
        self._calls.pop(key, None)

    async def _execute(self, key: K, call: _Call[V], fn: Callable[[], Awaitable[V]]) -> V:
        try:
            return await fn()
        finally:
            # Forget by identity: a newer execution for the same key stays registered.
            if self._calls.get(key) is call:
                del self._calls[key]

    def __repr__(self) -> str:
        return f"<Singleflight in_flight={len(self._calls)}>"
