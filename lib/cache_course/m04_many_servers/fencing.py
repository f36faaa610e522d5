"""Question `fencing` (module 04): a SET NX PX lock, and a store that checks fencing tokens
in the same Lua script as the write. Its assertion helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import random

from coursekit.questions import Question, expect, expect_true

from ..lab import _code_only, _source_of, assert_own_work, need as _need
from .lab import connect, decode, new_key, run_real
from .scenarios import replay_pause


def _shipped() -> dict:
    from swrcache.redis import RedisStore, SharedTier

    return {"swrcache.redis.RedisStore": RedisStore, "swrcache.redis.SharedTier": SharedTier}


def assert_own_fencing(acquire_lock, fenced_write) -> None:
    """The lock and the fenced write are yours, not RedisStore's leases."""
    assert_own_work(acquire_lock, "acquire_lock", shipped=_shipped())
    assert_own_work(fenced_write, "fenced_write", shipped=_shipped())
    code = _code_only(_source_of(fenced_write)).replace(" ", "") or "FENCED_LUA eval"  # no source: behaviour only
    expect_true("fenced_write runs your FENCED_LUA script", "FENCED_LUA" in code and "eval" in code,
                "The store checks the token in the same script as the write: `await r.eval(FENCED_LUA, 1, ...)`.",
                expected="r.eval(FENCED_LUA, ...)", got="no eval of FENCED_LUA")


def assert_acquire(acquire_lock, ttl_ms: int = 150) -> None:
    """SET NX PX: a token while free, None while held, a larger token once the lease ran out."""

    async def main():
        r = connect()
        key = new_key("lock")
        try:
            t1 = await acquire_lock(r, key, ttl_ms)
            held = await acquire_lock(r, key, ttl_ms)
            pttl = await r.pttl(f"lock:{key}")
            value = await r.get(f"lock:{key}")
            await asyncio.sleep(ttl_ms / 1000 + 0.1)
            t2 = await acquire_lock(r, key, ttl_ms)
            await r.delete(f"lock:{key}", f"fence:{key}")
            return t1, held, pttl, value, t2
        finally:
            await r.aclose()

    t1, held, pttl, value, t2 = run_real(main, "acquire_lock, again, and after the lease")
    expect_true("acquire_lock on a free key", isinstance(t1, int) and not isinstance(t1, bool) and t1 > 0,
                "Return the fencing token (an int from `INCR fence:<key>`) when `SET lock:<key> <token> NX PX` "
                "succeeds.", expected="a positive int", got=t1)
    expect("acquire_lock while the lock is held", held, None, "SET ... NX fails while the key exists: return None.")
    expect_true(f"PTTL lock:<key> just after taking it with ttl_ms={ttl_ms}", 0 < (pttl or 0) <= ttl_ms,
                "The lock must expire by itself: `px=ttl_ms`.", expected=f"0 < PTTL <= {ttl_ms}", got=pttl)
    expect("GET lock:<key>", value, str(t1), "The lock's value is the holder's token.")
    expect_true("the token after the lease ran out", isinstance(t2, int) and isinstance(t1, int) and t2 > t1,
                "Once the lease expired someone else can take it, with a larger token (tokens only grow).",
                expected=f"> {t1}", got=t2)


def assert_acquire_exclusive(acquire_lock, seed: int) -> None:
    """Many clients ask for one free lock at the same moment: exactly one gets a token."""
    n = random.Random(seed).randint(8, 20)

    async def main():
        clients = [connect() for _ in range(n)]
        key = new_key("lock")
        try:
            got = await asyncio.gather(*(acquire_lock(c, key, 2000) for c in clients))
            await clients[0].delete(f"lock:{key}", f"fence:{key}")
            return got
        finally:
            for c in clients:
                await c.aclose()

    got = run_real(main, f"{n} clients taking one lock at once")
    expect(f"clients that got the lock, of {n} at once (seed {seed})", sum(t is not None for t in got), 1,
           "Take the lock with one atomic command (`SET ... NX PX`), never GET-then-SET.")


def assert_fenced_script(fenced_write) -> None:
    """The store remembers the largest token it accepted and refuses smaller ones."""

    async def main():
        r = connect()
        key = new_key("entry")
        try:
            out = [await fenced_write(r, key, 5, "a"), await fenced_write(r, key, 3, "late"),
                   decode(await r.hget(key, "value")), await fenced_write(r, key, 5, "again"),
                   await fenced_write(r, key, 9, "newer"), decode(await r.hget(key, "value")),
                   await r.hget(key, "fence")]
            await r.delete(key)
            return out
        finally:
            await r.aclose()

    got = run_real(main, "fenced writes with tokens 5, 3, 5, 9")
    expect("fenced_write with token 5 on a new entry", got[0], True, "No token seen yet: accept it.")
    expect("fenced_write with token 3 after 5", got[1], False, "A smaller token is a late writer: refuse it.")
    expect("value after the refused write", got[2], "a", "A refused write changes nothing.")
    expect("token 5 again (the same holder), then 9", (got[3], got[4]), (True, True),
           "Accept tokens at least as large as the largest seen.")
    expect("(value, fence) after token 9", (got[5], got[6]), ("newer", "9"),
           "Store the value and remember the token in the field `fence`.")


def assert_fenced_random(fenced_write, seed: int) -> None:
    """Writes with tokens in a random order: each lands iff no larger token landed before it."""
    rng = random.Random(seed)
    tokens = [rng.randint(1, 40) for _ in range(rng.randint(6, 15))]

    async def main():
        r = connect()
        key = new_key("entry")
        try:
            out = [await fenced_write(r, key, t, f"v{t}") for t in tokens]
            final = decode(await r.hget(key, "value"))
            await r.delete(key)
            return out, final
        finally:
            await r.aclose()

    out, final = run_real(main, f"fenced writes with tokens {tokens}")
    want, best = [], 0
    for t in tokens:
        want.append(t >= best)
        best = max(best, t)
    expect(f"what fenced_write returned for tokens {tokens}", [bool(x) for x in out], want,
           "Accept a token iff it is at least the largest accepted so far.")
    expect("the final value", final, f"v{best}", "The writer with the largest token wins.")


def assert_pause(acquire_lock, fenced_write) -> None:
    """The pause replayed: client 1 stalls past its lease, client 2 writes, client 1's late write is refused."""
    r = replay_pause(acquire_lock, fenced_write)
    expect_true("tokens (client 1, client 2)", all(isinstance(t, int) for t in r.tokens) and r.tokens[1] > r.tokens[0],
                "Client 2 takes the lock after client 1's lease ran out, with a larger token.",
                expected="(t1, t2) with t2 > t1", got=r.tokens)
    expect("what the writes returned (client 1 late, client 2)", tuple(bool(w) for w in r.writes), (False, True),
           "The store must refuse client 1's late write: its token is smaller than client 2's.")
    expect("the entry at the end", r.final, "from client 2", "Fencing keeps client 2's value.")


def _parts(ns):
    from .redis_cas import need_script

    need_script(ns, "FENCED_LUA")
    return _need(ns, "acquire_lock", "function"), _need(ns, "fenced_write", "function")


def check_acquire(ns: dict) -> None:
    """acquire_lock: a token while free, None while held, a larger token after the lease"""
    assert_acquire(_need(ns, "acquire_lock", "function"))


def check_fenced_script(ns: dict) -> None:
    """fenced_write refuses a token smaller than the largest accepted (tokens 5, 3, 5, 9, then seed 0's)"""
    acquire, write = _parts(ns)
    assert_own_fencing(acquire, write)
    assert_fenced_script(write)
    assert_fenced_random(write, seed=0)


def check_pause(ns: dict) -> None:
    """the pause replayed: client 1's late write is refused"""
    assert_pause(*_parts(ns))


FENCING = Question(
    id="fencing",
    title="Locks vs leases with fencing tokens",
    checks=[check_acquire, check_fenced_script, check_pause],
    hints=[
        "The lock cannot know its holder stalled; the store can, if every write carries the token it was "
        "taken with, and the store remembers the largest token it has accepted.",
        "`acquire_lock`: `token = await r.incr(f'fence:{key}')`, then "
        "`await r.set(f'lock:{key}', token, nx=True, px=ttl_ms)`: the token if that returned True, else None.",
        "`FENCED_LUA`: `local seen = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')`; "
        "`if tonumber(ARGV[1]) < seen then return 0 end`; `redis.call('HSET', KEYS[1], 'value', ARGV[2], "
        "'fence', ARGV[1])`; `return 1`.",
    ],
)
