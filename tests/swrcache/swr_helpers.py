"""Helpers shared by the swrcache tests (imported by name; fixtures live in conftest.py).

Everything runs in virtual time (cachesim.vtime): no real sleeps, no wall-clock asserts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cachesim.vtime import run as vrun


class FakeLoader:
    """An async loader with scripted latency and failures that records what happened.

    - ``delay``: seconds each call takes (virtual time), or a callable(key, n) -> seconds.
    - ``fail``: a callable(key, n) -> exception to raise (or None), n = call number.
    - values are ``f"{key}#{n}"`` so every load is distinguishable.
    """

    def __init__(self, delay: float | Callable[[Any, int], float] = 0.0,
                 fail: Callable[[Any, int], BaseException | None] | None = None) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: list[tuple[Any, float]] = []
        self.running: dict[Any, int] = {}
        self.max_running: dict[Any, int] = {}
        self.total_running = 0
        self.max_total_running = 0
        self.cancelled = 0

    @property
    def count(self) -> int:
        return len(self.calls)

    async def __call__(self, key: Any) -> str:
        n = len(self.calls) + 1
        self.calls.append((key, asyncio.get_running_loop().time()))
        self.running[key] = self.running.get(key, 0) + 1
        self.max_running[key] = max(self.max_running.get(key, 0), self.running[key])
        self.total_running += 1
        self.max_total_running = max(self.max_total_running, self.total_running)
        try:
            d = self.delay(key, n) if callable(self.delay) else self.delay
            if d:
                await asyncio.sleep(d)
            if self.fail is not None:
                exc = self.fail(key, n)
                if exc is not None:
                    raise exc
            return f"{key}#{n}"
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running[key] -= 1
            self.total_running -= 1


def now() -> float:
    return asyncio.get_running_loop().time()


def run(main: Any) -> Any:
    """Run in virtual time; fail loudly on leaked tasks."""

    async def wrapper() -> Any:
        result = await (main() if callable(main) else main)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        current = asyncio.current_task()
        leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert not leaked, f"leaked tasks: {leaked}"
        return result

    return vrun(wrapper, wall_timeout=30.0)
