"""Question `many_servers` (module 04): four app servers, one database; a shared lease so
that one server per key loads. Its assertion helpers, visible checks and hints.

``LeasedLoader(store, load, *, ttl, lease_ttl, poll)`` is each app server's loader (its
local ``SWRCache`` calls ``await loader(key)`` on a miss). ``store`` speaks the shared-store
protocol (``get(key, lease_ttl=)`` -> ``Lookup``, ``cas(key, value, version=, ttl=, token=)``):
``cachesim.shared_store.SharedStoreModel`` in the simulator, ``swrcache.redis.RedisStore``
on the real server.
"""

from __future__ import annotations

import asyncio
import functools

from coursekit.figures import Figure
from coursekit.questions import Question, expect, expect_true

from ..lab import assert_own_work, need as _need, run_virtual as _run
from ..variants import learner_seed
from .scenarios import SERVERS, TTL, run_servers

LEASE_TTL = 0.5
POLL = 0.01


def _make(cls, **kw):
    params = dict(ttl=TTL, lease_ttl=LEASE_TTL, poll=POLL)
    params.update(kw)
    return lambda store, load: cls(store, load, **params)


def assert_own_loader(cls) -> None:
    """LeasedLoader is your own, not swrcache.redis.SharedTier imported, subclassed or wrapped."""
    from cachesim.shared_store import SharedStoreModel
    from swrcache.redis import SharedTier

    assert_own_work(cls, "LeasedLoader", shipped={"swrcache.redis.SharedTier": SharedTier})

    async def load(key):
        return key

    try:
        instance = cls(SharedStoreModel(), load, ttl=TTL, lease_ttl=LEASE_TTL, poll=POLL)
    except Exception:  # noqa: BLE001 - the behaviour checks report a constructor that fails
        return
    for attr, value in sorted(vars(instance).items()):
        expect_true(f"LeasedLoader wraps swrcache.redis.SharedTier (in self.{attr})", not isinstance(value, SharedTier),
                    "This question asks you to write the lease logic yourself; SharedTier is the library's.",
                    expected="your own LeasedLoader", got="SharedTier")


def assert_one_load(cls, servers: int = 4, callers: int = 5) -> None:
    """Several servers miss the same key at once: one database load, everyone gets its value; again after expiry."""
    from cachesim.shared_store import SharedStoreModel

    loads = []

    async def db(key):
        loads.append(key)
        await asyncio.sleep(0.05)
        return {"key": key, "load": len(loads)}

    async def main():
        store = SharedStoreModel(latency=0.0005)
        loaders = [cls(store, db, ttl=1.0, lease_ttl=LEASE_TTL, poll=POLL) for _ in range(servers)]
        first = await asyncio.gather(*(ld("user:7") for ld in loaders for _ in range(callers)))
        await asyncio.sleep(1.5)  # the shared entry expired
        second = await asyncio.gather(*(ld("user:7") for ld in loaders))
        return first, second

    first, second = _run(main, f"{servers} servers x {callers} callers missing one key")
    expect(f"database loads for {servers * callers} callers on {servers} servers", len(loads), 2,
           "One load per expiry across all servers: the server that gets the lease (`Lookup.token`) loads and "
           "writes; the others wait (`poll`) and read its write. (2: once at first, once after expiry.)")
    expect("values the callers got at first", {str(v) for v in first}, {str({"key": "user:7", "load": 1})},
           "Everyone gets the one load's value: the holder returns it, the others read it from the store.")
    expect("values after expiry", {str(v) for v in second}, {str({"key": "user:7", "load": 2})},
           "After the TTL the shared entry is missing again: one server refreshes it.")


def assert_holder_fails(cls) -> None:
    """The lease holder's load fails: its caller gets the error; the others are not stuck, one of them loads."""
    from cachesim.shared_store import SharedStoreModel

    loads = []

    async def db(key):
        loads.append(key)
        await asyncio.sleep(0.05)
        if len(loads) == 1:
            raise ConnectionError("db hiccup")
        return "v"

    async def main():
        store = SharedStoreModel(latency=0.0005)
        loaders = [cls(store, db, ttl=5.0, lease_ttl=LEASE_TTL, poll=POLL) for _ in range(4)]
        return await asyncio.gather(*(ld("k") for ld in loaders), return_exceptions=True), \
            asyncio.get_running_loop().time()

    got, elapsed = _run(main, "a lease holder whose load fails")
    kinds = sorted(type(g).__name__ if isinstance(g, BaseException) else repr(g) for g in got)
    expect("what the 4 servers got", kinds, ["'v'", "'v'", "'v'", "ConnectionError"],
           "The holder's caller gets its error; the others keep polling until the lease expires, then one of "
           "them takes it and loads.")
    expect_true("virtual seconds until all finished", elapsed <= LEASE_TTL + 0.5,
                "The waiters should finish soon after the failed holder's lease runs out.",
                expected=f"<= {LEASE_TTL + 0.5}", got=round(elapsed, 3))


def assert_late_holder(cls) -> None:
    """A holder stalls past its lease: another server takes over; the late write is fenced out, nobody sees an error."""
    from cachesim.shared_store import SharedStoreModel

    loads = []

    async def db(key):
        loads.append(key)
        n = len(loads)
        await asyncio.sleep(3 * LEASE_TTL if n == 1 else 0.05)
        return f"load {n}"

    async def main():
        store = SharedStoreModel(latency=0.0005)
        a, b = (cls(store, db, ttl=5.0, lease_ttl=LEASE_TTL, poll=POLL) for _ in range(2))
        slow = asyncio.ensure_future(a("k"))
        await asyncio.sleep(0.01)
        fast = await b("k")
        late = await slow
        return fast, late, (await store.get("k")).value

    fast, late, stored = _run(main, "a lease holder that stalls past its lease")
    expect("(the second server's value, the stalled holder's value, the shared entry)", (fast, late, stored),
           ("load 2", "load 1", "load 2"),
           "The stalled holder's compare-and-set carries its expired token: the store refuses it (FencedOut). "
           "Catch that (and VersionConflict), return the value you loaded, and leave the newer entry alone.")


def assert_servers(cls, seed: int) -> None:
    """Four app servers in the simulator: about one database load per key per expiry, p99 under 150 ms, no errors."""
    alone = run_servers(None, seed)
    shared = run_servers(_make(cls), seed)
    limit = round(alone.db_calls / SERVERS * 1.15) + 2
    expect(f"errors (seed {seed})", shared.error_count, 0, "No request should fail in this scenario.")
    expect_true(f"database calls, {SERVERS} servers with a shared lease (seed {seed})", shared.db_calls <= limit,
                f"Each server alone made {alone.db_calls} calls (about {SERVERS} per key per expiry); with the lease "
                "it should be about one per key per expiry.", expected=f"<= {limit}", got=shared.db_calls)
    expect_true(f"p99 with the lease (seed {seed})", shared.p99 <= 0.15,
                "Waiting servers poll the store every `poll` seconds; they should get the holder's write soon after "
                "its 50 ms load.", expected="<= 0.150 s", got=f"{shared.p99:.3f} s")


def _cls(ns):
    return _need(ns, "LeasedLoader")


def check_one_load(ns: dict) -> None:
    """servers missing one key at once: one database load, everyone gets its value"""
    cls = _cls(ns)
    assert_own_loader(cls)
    assert_one_load(cls)


def check_servers(ns: dict) -> None:
    """4 app servers in the simulator: about one load per key per expiry, p99 under 150 ms"""
    assert_servers(_cls(ns), learner_seed("04_many_servers", reference=7))


@functools.lru_cache(maxsize=4)
def _servers_alone(seed: int):
    return run_servers(None, seed)


def many_servers_figures(ns: dict, seed: int = 7) -> list[Figure]:
    """Four app servers in the simulator (the check's seed): each loading on its own, then your shared lease."""
    shared, alone = run_servers(_make(_cls(ns)), seed), _servers_alone(seed)
    note = f"before: {SERVERS} servers, each its own cache; after: with your LeasedLoader; 30 s, seed {seed}"
    return [Figure("database calls", alone.db_calls, shared.db_calls, "", note),
            Figure("p99", round(alone.p99 * 1000, 1), round(shared.p99 * 1000, 1), "ms"),
            Figure("errors", alone.error_count, shared.error_count, "")]


MANY_SERVERS = Question(
    id="many_servers",
    title="Four app servers, one lease",
    checks=[check_one_load, check_servers],
    figures=many_servers_figures,
    hints=[
        "Singleflight coalesces inside one process. Across servers, the shared store hands out one lease per "
        "key: `look = await self.store.get(key, lease_ttl=self.lease_ttl)`; `look.token` is set for the one "
        "caller who got it.",
        "Fresh: return `look.value`. Got the lease: load, `cas(..., version=look.version, ttl=self.ttl, "
        "token=look.token)`, return the value. Stale and someone else refreshes: return the stale value. "
        "Missing and leased by someone else: `await asyncio.sleep(self.poll)` and read again.",
        "A late or conflicting write raises `FencedOut` or `VersionConflict`: catch both and still return what "
        "you loaded. The loop ends by itself: an expired lease is granted to the next reader.",
    ],
)
