"""Module 04's lab bench, part 3: the pause replayed on the real Redis (`replay_pause`) and
many app servers sharing one database, in the simulator (`run_servers`) and at small scale on
the real Redis (`run_servers_on_redis`)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from coursekit.questions import Mismatch

from ..lab import require_finished, require_no_stub_errors
from .lab import connect, decode, encode, new_key, run_real

__all__ = ["DB_LATENCY", "KEYS", "SERVERS", "TTL", "PauseReplay", "replay_pause", "run_servers",
           "run_servers_on_redis", "unfenced_write"]

# =========================================================================== 4 · the pause, replayed


async def unfenced_write(r, key, token, value) -> bool:
    """A plain write that ignores the token (``HSET key value ...``): what a bare lock gives you."""
    await r.hset(key, mapping={"value": encode(value)})
    return True


@dataclass
class PauseReplay:
    tokens: tuple
    writes: tuple  # what each client's write call returned
    final: Any

    @property
    def corrupted(self) -> bool:
        return self.final != "from client 2"


def replay_pause(acquire_lock: Callable, write: Callable, *, ttl_ms: int = 100) -> PauseReplay:
    """Kleppmann's pause: client 1 takes the lock and stalls (a GC pause, a slow disk) for
    three lease lengths; the lease expires, client 2 takes the lock and writes; then
    client 1 wakes up and writes its stale value. Returns the tokens, what each write
    returned and the final value (``"from client 2"`` is right)."""
    require_finished(acquire_lock, write)

    async def main():
        key = new_key("entry")
        c1, c2 = connect(), connect()
        try:
            t1 = await acquire_lock(c1, key, ttl_ms)
            await asyncio.sleep(3 * ttl_ms / 1000)  # client 1 stalls; its lease runs out
            t2 = None
            for _ in range(50):  # client 2 retries until the lock is free
                t2 = await acquire_lock(c2, key, ttl_ms)
                if t2 is not None:
                    break
                await asyncio.sleep(ttl_ms / 1000)
            w2 = await write(c2, key, t2, "from client 2")
            w1 = await write(c1, key, t1, "from client 1 (stale)")  # late
            final = decode(await c1.hget(key, "value"))
            await c1.delete(key, f"lock:{key}", f"fence:{key}")
            return PauseReplay((t1, t2), (w1, w2), final)
        finally:
            await c1.aclose()
            await c2.aclose()

    try:
        return run_real(main, "the pause replayed")
    except Mismatch:
        raise
    except Exception as exc:  # e.g. a Lua script that is still the placeholder
        raise RuntimeError(f"the replay raised {type(exc).__name__}: {exc}. Finish the exercise above (its check "
                           "says how it is going), then run this cell again.") from None


# =========================================================================== 5 · many app servers

SERVERS = 4
KEYS = 20
TTL = 5.0
DB_LATENCY = 0.05


def run_servers(make_loader: Callable | None, seed: int, *, servers: int = SERVERS, duration: float = 30.0,
                keys: int = KEYS, rate: float = 400.0, name: str | None = None):
    """``servers`` app servers, each with its own in-process ``SWRCache`` (TTL 5 s,
    singleflight per server), share one simulated database (50 ms) and, when
    ``make_loader`` is given, one shared store (``SharedStoreModel``, 0.5 ms a call).
    ``make_loader(store, load)`` returns each server's loader; None: each server loads
    from the database itself. In virtual time; returns the ``SimResult``."""
    from cachesim import SimulatedDatabase, Workload, simulate
    from cachesim.shared_store import SharedStoreModel
    from swrcache import SWRCache

    store = SharedStoreModel(latency=0.0005)
    rng = random.Random(seed)
    if make_loader is not None:
        require_finished(make_loader(store, lambda key: None))

    def factory(load):
        loader = load if make_loader is None else make_loader(store, load)
        return SWRCache(loader, capacity=4 * keys, ttl=TTL, stale_ttl=0.0, rng=random.Random(rng.random()))

    return require_no_stub_errors(simulate(
        Workload(duration=duration, rate=rate, keys=keys, servers=servers, seed=seed), factory,
        database=SimulatedDatabase(latency=DB_LATENCY, seed=seed), progress=False,
        name=name or (f"{servers} servers, {'own caches only' if make_loader is None else 'shared lease'}")))


def run_servers_on_redis(make_loader: Callable | None, *, servers: int = SERVERS, keys: int = 3, ttl: float = 0.4,
                         seconds: float = 1.3, rate: float = 300.0, db_latency: float = 0.02, seed: int = 0) -> dict:
    """The same at small scale, in real time on the real Redis: ``servers`` local
    ``SWRCache``s, one ``RedisStore`` (a fresh prefix), a database that takes ``db_latency``.
    Returns ``{"db_calls", "expiries", "per_expiry", "p99_ms"}``."""
    from swrcache import SWRCache
    from swrcache.redis import RedisStore

    if make_loader is not None:
        require_finished(make_loader(None, lambda key: None))

    async def main():
        rng = random.Random(seed)
        calls: list = []

        async def db(key):
            calls.append((key, time.perf_counter()))
            await asyncio.sleep(db_latency)
            return {"key": key, "loaded": len(calls)}

        store = RedisStore(prefix=new_key("store") + ":")
        caches = [SWRCache(db if make_loader is None else make_loader(store, db), capacity=100, ttl=ttl,
                           stale_ttl=0.0, rng=random.Random(i)) for i in range(servers)]
        latencies: list = []

        async def request(cache, key):
            t = time.perf_counter()
            await cache.get(key)
            latencies.append(time.perf_counter() - t)

        tasks = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            tasks.append(asyncio.ensure_future(request(rng.choice(caches), f"user:{rng.randrange(keys)}")))
            await asyncio.sleep(rng.expovariate(rate))
        await asyncio.gather(*tasks)
        for c in caches:
            await c.aclose()
        await store.aclose()
        latencies.sort()
        rounds = 0  # refresh rounds: a key's loads less than half a TTL after the round's first
        for k in {k for k, _ in calls}:
            start = None
            for _, t in sorted(c for c in calls if c[0] == k):
                if start is None or t - start > ttl / 2:
                    rounds, start = rounds + 1, t
        return {"db_calls": len(calls), "expiries": rounds, "per_expiry": round(len(calls) / max(1, rounds), 2),
                "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1)}

    return run_real(main, "app servers on the real Redis")
