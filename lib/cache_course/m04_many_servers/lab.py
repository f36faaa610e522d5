"""Module 04's lab bench: the stores, races and scenarios every question of the module uses.

* in process, on the virtual clock: :class:`SharedDict` (the shared cache with a plain
  ``SET``), :func:`plain_update` (read, refresh, ``SET``: the PR's first draft) and
  :func:`race` (N refreshes of one key at once, how many updates survived);
* on a real Redis (``$REDIS_URL``, else the embedded server of
  :mod:`swrcache.redis.server`): :func:`connect`, :func:`run_real`, :func:`hammer` (N
  writers on their own connections × M updates each) and :func:`contention`;
* the key-schema rollout: :class:`KV`, the v1 and v2 formats, the downstream consumer and
  :func:`run_rollout`, which runs the consumer's contract test after every step;
* the pause replayed: :func:`replay_pause` (a lock holder stalls past its lease);
* many app servers: :func:`run_servers` (simulated, ``cachesim``) and
  :func:`run_servers_on_redis` (the same at small scale on the real server).

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
    "KV", "ROLLOUT", "ContentionResult", "RaceResult", "SharedDict", "connect", "contention", "decode",
    "downstream_read_v1", "downstream_read_v2", "encode", "from_v1", "from_v2", "hammer", "increment",
    "SERVERS", "KEYS", "TTL", "DB_LATENCY", "new_key", "plain_update", "race", "replay_pause", "require_finished", "require_no_stub_errors",
    "run_real", "run_rollout", "run_servers", "run_servers_on_redis", "show_source", "to_v1", "to_v2",
    "unfenced_write", "v1_key", "v2_key",
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


# =========================================================================== 3 · key schema v1 -> v2

#: The rollout, in order. Step 0 is today (the old service writes v1 only).
ROLLOUT = ("dual_write", "read_new", "backfill", "retire_v1")


class KV:
    """The shared cache's key space, in process (a dict): ``get``, ``set`` (``nx=True``: only
    if absent; returns whether it wrote), ``delete``, ``keys(prefix)``. Values are strings."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str, *, nx: bool = False) -> bool:
        if not isinstance(value, str):
            raise TypeError(f"values are str (JSON), got {type(value).__name__}: encode it with to_v1/to_v2")
        if nx and key in self.data:
            return False
        self.data[key] = value
        return True

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))


def v1_key(user_id: int) -> str:
    """The old key: ``session:<user_id>``."""
    return f"session:{user_id}"


def v2_key(tenant: str, user_id: int) -> str:
    """The new key: ``sess:v2:<tenant>:<user_id>`` (sessions are per tenant now)."""
    return f"sess:v2:{tenant}:{user_id}"


def to_v1(session: dict) -> str:
    """The v1 value: ``{"user_id", "name", "roles"}`` (no tenant, no MFA flag)."""
    return json.dumps({"user_id": session["user_id"], "name": session["name"], "roles": list(session["roles"])},
                      sort_keys=True)


def to_v2(session: dict) -> str:
    """The v2 value: ``{"v": 2, "tenant", "user": {"id", "name"}, "roles", "mfa"}``."""
    return json.dumps({"v": 2, "tenant": session["tenant"], "user": {"id": session["user_id"], "name": session["name"]},
                       "roles": list(session["roles"]), "mfa": bool(session["mfa"])}, sort_keys=True)


def from_v1(raw: str, tenant: str) -> dict:
    """A session from its v1 value; v1 knows no tenant (given) and no MFA flag (False)."""
    d = json.loads(raw)
    return {"tenant": tenant, "user_id": d["user_id"], "name": d["name"], "roles": list(d["roles"]), "mfa": False}


def from_v2(raw: str) -> dict:
    d = json.loads(raw)
    return {"tenant": d["tenant"], "user_id": d["user"]["id"], "name": d["user"]["name"], "roles": list(d["roles"]),
            "mfa": bool(d["mfa"])}


def downstream_read_v1(kv: KV, user_id: int) -> dict | None:
    """The downstream consumer (the audit service) as it is today: it reads the v1 key and
    parses the v1 format. It is not yours to change."""
    raw = kv.get(v1_key(user_id))
    if raw is None:
        return None
    d = json.loads(raw)
    if set(d) != {"user_id", "name", "roles"}:
        raise ValueError(f"audit service: unexpected fields in {v1_key(user_id)}: {sorted(d)}")
    return d


def downstream_read_v2(kv: KV, tenant: str, user_id: int) -> dict | None:
    """The consumer after its own migration (shipped once the backfill is done): v2 only."""
    raw = kv.get(v2_key(tenant, user_id))
    return None if raw is None else from_v2(raw)


def _session(rng: random.Random, tenant: str, user_id: int, generation: int) -> dict:
    names = ["Ada", "Grace", "Edsger", "Barbara", "Ken", "Radia", "Linus", "Frances"]
    roles = ["reader", "writer", "admin", "billing"]
    return {"tenant": tenant, "user_id": user_id, "name": f"{rng.choice(names)}-{generation}",
            "roles": sorted(rng.sample(roles, rng.randint(1, 3))), "mfa": rng.random() < 0.5}


@dataclass
class RolloutStep:
    step: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_rollout(write_session: Callable, read_session: Callable, backfill: Callable, seed: int, *,
                users: int = 30) -> list[RolloutStep]:
    """Replay the rollout and run the consumer's contract test after each step.

    Before the rollout the old service wrote every user in v1. At each step of `ROLLOUT`
    some users' sessions change through ``write_session(kv, session, step)``; at
    ``"backfill"``, ``backfill(kv, tenants)`` runs (``tenants``: ``{user_id: tenant}``)
    before those writes. The contract, after every step: the downstream consumer reads
    every user's *current* session (v1 fields) until v1 is retired, and the migrated
    consumer reads it in v2 once it is; ``read_session(kv, tenant, user_id, step)`` returns
    every current session, MFA flag included (at ``"dual_write"`` reads may still take the v1
    path, which has no MFA flag); after ``"retire_v1"`` writes leave no v1 key and no stale
    v1 copy lingers.
    """
    require_finished(write_session, read_session, backfill)
    rng = random.Random(seed)
    kv = KV()
    tenants = {uid: rng.choice(["acme", "globex", "initech"]) for uid in range(1, users + 1)}
    current: dict[int, dict] = {}
    for uid, tenant in tenants.items():  # the old service, before the rollout
        s = _session(rng, tenant, uid, 0)
        s["mfa"] = False  # v1 cannot say otherwise
        current[uid] = s
        kv.set(v1_key(uid), to_v1(s))
    steps: list[RolloutStep] = []
    for generation, step in enumerate(ROLLOUT, start=1):
        problems: list[str] = []
        try:
            if step == "backfill":
                backfill(kv, dict(tenants))
            written = rng.sample(sorted(tenants), users // 3)
            for uid in written:
                s = _session(rng, tenants[uid], uid, generation)
                current[uid] = s
                write_session(kv, dict(s), step)
        except Exception as exc:  # noqa: BLE001 - reported as the step's problem
            steps.append(RolloutStep(step, [f"raised {type(exc).__name__}: {exc}"]))
            break
        for uid, s in current.items():
            want_v1 = {"user_id": uid, "name": s["name"], "roles": s["roles"]}
            try:
                if step != "retire_v1":
                    got = downstream_read_v1(kv, uid)
                    if got != want_v1:
                        problems.append(f"the downstream consumer read user {uid} as {got!r}, not {want_v1!r}")
                else:
                    got = downstream_read_v2(kv, s["tenant"], uid)
                    if got != s:
                        problems.append(f"the migrated consumer (v2 only) read user {uid} as {got!r}, not {s!r}")
                mine = read_session(kv, s["tenant"], uid, step)
                want = s if step != "dual_write" else {**s, "mfa": mine.get("mfa") if isinstance(mine, dict) else None}
                if mine != want:  # at dual_write reads may still take the v1 path, which knows no MFA flag
                    problems.append(f"read_session(kv, {s['tenant']!r}, {uid}, {step!r}) returned {mine!r}, not {s!r}")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"reading user {uid} raised {type(exc).__name__}: {exc}")
        if step == "retire_v1":  # nobody reads v1 now: it must not be written, and no stale copy may linger
            for uid in written:
                if kv.get(v1_key(uid)) is not None:
                    problems.append(f"user {uid} was written after v1 was retired, and {v1_key(uid)} still exists")
                    break
            for key in kv.keys("session:"):
                uid = int(key.split(":")[1])
                s = current[uid]
                if json.loads(kv.get(key)) != {"user_id": uid, "name": s["name"], "roles": s["roles"]}:
                    problems.append(f"{key} holds a stale session after v1 was retired")
                    break
        steps.append(RolloutStep(step, problems))
        if problems:
            break
    return steps


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
