"""Module 04's lab bench, part 1: the stores and races of the first questions.

* in process, on the virtual clock: :class:`SharedDict` (the shared cache with a plain
  ``SET``), :func:`plain_update` (read, refresh, ``SET``: the PR's first draft) and
  :func:`race` (N refreshes of one key at once, how many updates survived);
* on a real Redis (``$REDIS_URL``, else the embedded server of
  :mod:`swrcache.redis.server`): :func:`connect`, :func:`run_real`, :func:`hammer` (N
  writers on their own connections × M updates each) and :func:`contention`.

Part 2, :mod:`.rollout`: the key-schema rollout and the downstream consumer's contract test.
Part 3, :mod:`.scenarios`: the pause replayed (a lock holder stalls past its lease) and many
app servers (simulated, and at small scale on the real server).

The notebook, its visible checks and its hidden tests all use these, so editing a
notebook cell cannot change what a learner is graded against.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from coursekit.questions import Mismatch

from ..lab import require_finished, require_no_stub_errors, show_source

__all__ = [
    "ContentionResult", "RaceResult", "SharedDict", "connect", "contention", "decode", "encode", "hammer", "increment",
    "make_increment", "new_key", "plain_update", "race", "require_finished", "require_no_stub_errors", "run_real",
    "show_source",
]


# =========================================================================== 1 · in process

class SharedDict:
    """The shared cache, in process: ``key -> (value, version)``. Every call is a round trip
    of ``latency`` seconds (virtual time in the lab). ``set`` is a plain ``SET``: the last
    writer wins, whatever it read."""

    def __init__(self, latency: float = 0.001) -> None:
        self.latency = latency
        self._data: dict = {}

    async def get(self, key):
        """``(value, version)``; ``(None, 0)`` for a key never written."""
        await asyncio.sleep(self.latency)
        return self._data.get(key, (None, 0))

    async def set(self, key, value) -> None:
        await asyncio.sleep(self.latency)
        _, version = self._data.get(key, (None, 0))
        self._data[key] = (value, version + 1)


async def plain_update(store, key, change) -> int:
    """The PR's first draft: read the entry, compute the new value (``await change(value)``,
    a refresh that takes time), write it back with a plain ``set``. Returns 0 (it never retries)."""
    value, _ = await store.get(key)
    new = await change(value)
    await store.set(key, new)
    return 0


@dataclass
class RaceResult:
    """What a race left behind: every writer adds 1 to a counter ``updates`` times."""

    writers: int
    updates: int
    final: Any
    retries: int

    @property
    def expected(self) -> int:
        return self.writers * self.updates

    @property
    def lost(self) -> int:
        return self.expected - (self.final if isinstance(self.final, int) else 0)

    def __str__(self) -> str:
        return (f"{self.writers} writers x {self.updates} updates: counter {self.final} of {self.expected} "
                f"({self.lost} lost, {self.retries} retries)")


def make_increment(rng: random.Random | None = None, work: tuple[float, float] = (0.01, 0.01)):
    """An async ``change``: ``value + 1`` (None counts as 0), after a refresh of ``work`` seconds."""

    async def change(value):
        low, high = work
        await asyncio.sleep(low if rng is None else rng.uniform(low, high))
        return (value or 0) + 1

    return change


def race(update: Callable, store: Any, *, writers: int = 2, updates: int = 1, seed: int | None = None,
         key: str = "session:42") -> RaceResult:
    """``writers`` refreshes of one key start together, each calling
    ``await update(store, key, change)`` ``updates`` times, where ``change`` adds 1 after a
    refresh that takes 10 ms (random 1-20 ms with a ``seed``). In virtual time."""
    from ..lab import run_virtual

    require_finished(update, store)
    rng = None if seed is None else random.Random(seed)

    async def writer(i):
        retries = 0
        change = make_increment(rng, (0.001, 0.02) if rng else (0.01, 0.01))
        for _ in range(updates):
            if rng is not None:
                await asyncio.sleep(rng.uniform(0, 0.005))
            got = await update(store, key, change)
            retries += got if isinstance(got, int) and not isinstance(got, bool) else 0
        return retries

    async def main():
        retries = await asyncio.gather(*(writer(i) for i in range(writers)))
        final, _ = await store.get(key)
        return final, sum(retries)

    final, retries = run_virtual(main, f"{writers} writers x {updates} updates of one key")
    return RaceResult(writers, updates, final, retries)


# =========================================================================== 2 · on Redis


def encode(value: Any) -> str:
    """A value as stored in the hash field ``value``: compact JSON (no pickle)."""
    return json.dumps(value, separators=(",", ":"))


def decode(raw: Any) -> Any:
    """The inverse of `encode`; None (a missing field) stays None."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    return json.loads(raw)


def new_key(what: str = "session") -> str:
    """A key no other run uses (``m04:<what>:<random>``), so runs never see each other's data."""
    return f"m04:{what}:{uuid.uuid4().hex[:12]}"


def connect():
    """A new ``redis.asyncio.Redis`` client (its own connection pool) for `redis_url()`:
    ``$REDIS_URL``, else this kernel's embedded server. Replies are ``str`` (decoded)."""
    import redis.asyncio as aioredis
    from swrcache.redis.server import redis_url

    return aioredis.Redis.from_url(redis_url(), decode_responses=True, socket_timeout=5.0,
                                   socket_connect_timeout=5.0)


def run_real(main: Callable[[], Awaitable], what: str, *, timeout: float = 30.0):
    """Run ``await main()`` on a real-time event loop and return its result.

    From a notebook cell (a loop already runs there) it runs on a worker thread. A run
    longer than ``timeout`` seconds becomes a readable mismatch.
    """
    from swrcache.redis.server import redis_url

    redis_url()  # start the embedded server from this thread (the main one in a notebook)

    async def bounded():
        try:
            return await asyncio.wait_for(main(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise Mismatch(what, f"finishes within {timeout:g} s", "still running",
                           "Does a retry loop never give up, or wait for something that never comes? "
                           "Each retry should re-read the entry.") from None

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    box: dict = {}

    def worker():
        try:
            box["result"] = asyncio.run(bounded())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="m04-real-time", daemon=True)
    thread.start()
    thread.join(timeout + 10)
    if thread.is_alive():
        raise Mismatch(what, f"finishes within {timeout:g} s", "still running",
                       "A loop that never awaits anything blocks the event loop.")
    if "error" in box:
        raise box["error"]
    return box["result"]


async def increment(value):
    """The ``change`` of the contention runs: ``value + 1`` (None counts as 0)."""
    await asyncio.sleep(0)
    return (value or 0) + 1


@dataclass
class ContentionResult:
    """N writers (each on its own connection) x M updates of one key on the real Redis."""

    name: str
    writers: int
    updates: int
    final: Any
    version: Any
    retries: int
    seconds: float
    errors: list = field(default_factory=list)

    @property
    def expected(self) -> int:
        return self.writers * self.updates

    @property
    def lost(self) -> int:
        return self.expected - (self.final if isinstance(self.final, int) else 0)

    @property
    def per_second(self) -> float:
        return self.expected / self.seconds if self.seconds > 0 else float("inf")

    def row(self) -> dict:
        return {"method": self.name, "writers": self.writers, "updates": self.expected, "lost": self.lost,
                "retries": self.retries, "retries per update": round(self.retries / max(1, self.expected), 2),
                "updates/s": round(self.per_second)}


async def hammer(update: Callable, *, writers: int, updates: int, name: str = "",
                 change: Callable = increment, key: str | None = None) -> ContentionResult:
    """Run ``writers`` concurrent writers, each with its own client (connection), each calling
    ``await update(r, key, change)`` ``updates`` times on one fresh key; return what the key
    holds, the retries the calls reported and the wall time. Must be awaited on a real loop."""
    key = key or new_key("counter")
    clients = [connect() for _ in range(writers)]
    errors: list = []

    async def writer(r):
        total = 0
        for _ in range(updates):
            try:
                got = await update(r, key, change)
            except Exception as exc:  # noqa: BLE001 - reported, not raised: the table shows it
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            total += got if isinstance(got, int) and not isinstance(got, bool) else 0
        return total

    try:
        t0 = time.perf_counter()
        retries = await asyncio.gather(*(writer(r) for r in clients))
        seconds = time.perf_counter() - t0
        raw, version = await clients[0].hmget(key, "value", "version")
        await clients[0].delete(key)
    finally:
        for r in clients:
            await r.aclose()
    try:
        final = decode(raw)
    except ValueError:
        final = raw
    return ContentionResult(name or getattr(update, "__name__", "update"), writers, updates, final, version,
                            sum(retries), seconds, errors)


def contention(update: Callable, *, writers: int = 8, updates: int = 50, name: str = "") -> ContentionResult:
    """`hammer` from a cell or a check: refuses starter code, runs on a real-time loop."""
    require_finished(update)
    result = run_real(lambda: hammer(update, writers=writers, updates=updates, name=name),
                      f"{writers} writers x {updates} updates with {getattr(update, '__name__', 'update')}")
    if result.errors:
        raise RuntimeError(f"{len(result.errors)} of {result.expected} updates with "
                           f"{getattr(update, '__name__', 'update')} raised ({result.errors[0]}): finish the "
                           "exercise above (its check says how it is going), then run this cell again.")
    return result
