"""Questions `watch_cas` and `lua_cas` (module 04): compare-and-set on the real Redis, first
with WATCH/MULTI/EXEC, then as one Lua script. Their assertion helpers, checks and hints.

An entry is a Redis hash: field ``value`` (JSON, `lab.encode`) and field ``version`` (an
integer; a missing key has version 0). ``update(r, key, change)`` reads the entry, computes
``await change(value)``, writes it only if the version did not move (bumping it), retries
from a fresh read otherwise, and returns the number of retries.
"""

from __future__ import annotations

import asyncio
import random

from coursekit.questions import NotAttempted, Question, expect, expect_true

from ..lab import _code_only, _source_of, assert_own_work, need as _need
from .lab import connect, decode, encode, hammer, increment, new_key, run_real


def _shipped() -> dict:
    from swrcache.redis import RedisStore, SharedTier

    return {"swrcache.redis.RedisStore": RedisStore, "swrcache.redis.SharedTier": SharedTier}


def _code(fn) -> str | None:
    """``fn``'s code without comments, strings and spaces; None when its source is unavailable
    (code exec'd without a file): the behaviour checks still run."""
    code = _code_only(_source_of(fn)).replace(" ", "")
    return code or None


def assert_uses_watch(fn) -> None:
    """`watch_update` is your own WATCH/MULTI/EXEC transaction (not a Lua script, not RedisStore)."""
    assert_own_work(fn, "watch_update", shipped=_shipped())
    code = _code(fn)
    if code is None:
        return
    expect_true("watch_update uses WATCH", ".watch(" in code,
                "This one is the optimistic transaction: `await pipe.watch(key)` on a "
                "`r.pipeline(transaction=True)`, then `pipe.multi()` and `await pipe.execute()`.",
                expected="pipe.watch(key)", got="no .watch( call")
    expect_true("watch_update sends no Lua script", "eval" not in code and "register_script" not in code,
                "The Lua version is the next question; here the point is WATCH/MULTI/EXEC.",
                expected="no eval", got="a script")


def assert_uses_script(fn, script) -> None:
    """`lua_update` compares and sets in your own Lua script (not WATCH, not RedisStore's scripts)."""
    assert_own_work(fn, "lua_update", shipped=_shipped())
    code = _code(fn)
    if code is None:
        code = "eval(CAS_LUA)"  # source unavailable: the script itself is checked below
    expect_true("lua_update runs your CAS_LUA script", ("eval" in code or "register_script" in code)
                and "CAS_LUA" in code, "Send your script: `await r.eval(CAS_LUA, 1, key, version, encode(new))`.",
                expected="r.eval(CAS_LUA, ...)", got="no eval of CAS_LUA")
    expect_true("lua_update uses no WATCH", ".watch(" not in code,
                "The script is the compare-and-set: no WATCH needed.", expected="no watch", got="pipe.watch")
    expect_true("CAS_LUA is a string", isinstance(script, str) and "redis.call" in script,
                "`CAS_LUA` holds the script's text, with `redis.call('HGET', ...)` and `redis.call('HSET', ...)`.",
                expected="a Lua script", got=type(script).__name__)


def assert_lua_script(script) -> None:
    """CAS_LUA on its own: version 0 creates the key; a wrong version is refused (0) and changes nothing."""

    async def main():
        r = connect()
        key = new_key("lua")
        try:
            out = [await r.eval(script, 1, key, 0, encode("a")), await r.hmget(key, "value", "version"),
                   await r.eval(script, 1, key, 0, encode("b")), await r.hmget(key, "value", "version"),
                   await r.eval(script, 1, key, 1, encode("c")), await r.hmget(key, "value", "version")]
            await r.delete(key)
            return out
        finally:
            await r.aclose()

    got = run_real(main, "CAS_LUA run directly")
    expect("EVAL CAS_LUA 1 key 0 '\"a\"' on a missing key", got[0], 1,
           "A missing key has version 0 (`tonumber(redis.call('HGET', KEYS[1], 'version') or '0')`): "
           "expecting 0 succeeds and returns 1.")
    expect("HMGET key value version after it", list(got[1]), ['"a"', "1"],
           "Store ARGV[2] in `value` and the version + 1 in `version`.")
    expect("EVAL with version 0 when the key is at version 1", got[2], 0,
           "A version that moved on: return 0 and write nothing.")
    expect("HMGET after the refused write", list(got[3]), ['"a"', "1"], "A refused write changes nothing.")
    expect("EVAL with the current version 1, then HMGET", (got[4], list(got[5])), (1, ['"c"', "2"]),
           "The current version: the write lands and the version becomes 2.")


def assert_update_once(fn) -> None:
    """One update on a missing key, then another: value and version as specified, 0 retries."""

    async def main():
        r = connect()
        key = new_key("once")
        try:
            a = await fn(r, key, increment)
            first = await r.hmget(key, "value", "version")
            b = await fn(r, key, increment)
            second = await r.hmget(key, "value", "version")
            await r.delete(key)
            return a, first, b, second
        finally:
            await r.aclose()

    a, first, b, second = run_real(main, "two updates, one after the other")
    expect("(value, version) after one update of a missing key", tuple(first), (encode(1), "1"),
           "Write the hash fields `value` (encode(new)) and `version` (the version you read + 1; missing: 0).")
    expect("(value, version) after a second update", tuple(second), (encode(2), "2"),
           "Read the current value (decode it), apply change, bump the version.")
    expect("retries returned without contention", (a, b), (0, 0), "Nothing raced, so no retries: return 0.")


def assert_update_keeps_json(fn) -> None:
    """A session (a dict), updated twice: stored as JSON (`encode`), read back with `decode`."""

    async def change(value):
        value = value or {"user": 42, "refreshes": 0}
        return {**value, "refreshes": value["refreshes"] + 1, "name": "Ada \u2013 admin"}

    async def main():
        r = connect()
        key = new_key("session")
        try:
            await fn(r, key, change)
            await fn(r, key, change)
            raw, version = await r.hmget(key, "value", "version")
            await r.delete(key)
            return raw, version
        finally:
            await r.aclose()

    raw, version = run_real(main, "a session dict updated twice")
    try:
        got = decode(raw)
    except ValueError:
        got = f"not JSON: {raw!r}"
    expect("the session after two updates (decoded)", got, {"user": 42, "refreshes": 2, "name": "Ada \u2013 admin"},
           "Store `encode(new)` (JSON) in `value` and pass `decode(raw)` to `change`: `str()` of a dict is not JSON.")
    expect("its version", version, "2", "Each update bumps the version by one.")


def assert_conflict_retried(fn) -> None:
    """Another writer changes the entry while you compute: your write is refused, you re-read and retry."""

    async def main():
        r, other = connect(), connect()
        key = new_key("conflict")
        calls = []

        async def change(value):
            calls.append(value)
            if len(calls) == 1:  # another app server writes in the middle of our refresh
                await other.hset(key, mapping={"value": encode(100), "version": 7})
            return (value or 0) + 1

        try:
            retries = await fn(r, key, change)
            got = await r.hmget(key, "value", "version")
            await r.delete(key)
            return retries, calls, got
        finally:
            await r.aclose()
            await other.aclose()

    retries, calls, got = run_real(main, "an update with another writer in the middle")
    expect("(value, version) after the other writer's 100 (version 7) and your retried +1", tuple(got),
           (encode(101), "8"), "Your first write must be refused (the version moved from 0 to 7) and the "
           "retry must start from a fresh read: 100 + 1, version 8.")
    expect("values your change saw", calls, [None, 100], "Retry from a fresh read: the second call sees 100.")
    expect("retries returned", retries, 1, "One refused write, one retry.")


def assert_no_lost(fn, seed: int) -> None:
    """N writers on separate connections x M updates each: zero lost; each landed update bumped the version once."""
    rng = random.Random(seed)
    writers, updates = rng.randint(4, 10), rng.randint(10, 30)
    r = run_real(lambda: hammer(fn, writers=writers, updates=updates), f"{writers} writers x {updates} updates",
                 timeout=60)
    expect(f"errors, {writers} writers x {updates} updates (seed {seed})", r.errors[:1], [],
           "Only a conflict is retried; nothing should raise.")
    expect(f"lost updates, {writers} writers x {updates} updates (seed {seed})", r.lost, 0,
           "Every update must land exactly once: the write happens only if the version is still the one read.")
    expect(f"version after {r.expected} updates (seed {seed})", r.version, str(r.expected),
           "Each landed update bumps the version by exactly 1.")
    expect_true(f"retries returned (seed {seed})", isinstance(r.retries, int) and r.retries >= 0,
                "Return the number of retries, an int.", expected="an int >= 0", got=r.retries)


def check_uses_watch(ns: dict) -> None:
    """watch_update is your own WATCH/MULTI/EXEC transaction"""
    assert_uses_watch(_need(ns, "watch_update", "function"))


def check_watch_once(ns: dict) -> None:
    """a counter updated once, then again: its value and version as specified"""
    assert_update_once(_need(ns, "watch_update", "function"))


def check_watch_conflict(ns: dict) -> None:
    """a write in the middle of your refresh: refused, re-read, retried"""
    assert_conflict_retried(_need(ns, "watch_update", "function"))


def check_watch_writers(ns: dict) -> None:
    """several writers on separate connections x many updates (seed 0): zero lost, one version bump each"""
    assert_no_lost(_need(ns, "watch_update", "function"), seed=0)


WATCH_CAS = Question(
    id="watch_cas",
    title="Compare-and-set with WATCH/MULTI/EXEC",
    checks=[check_uses_watch, check_watch_once, check_watch_conflict, check_watch_writers],
    hints=[
        "WATCH makes EXEC fail (redis-py raises `WatchError`) when the watched key changed after WATCH. "
        "That failure is your refused compare-and-set: count it and go round again.",
        "Inside `async with r.pipeline(transaction=True) as pipe:` loop: `await pipe.watch(key)`, read with "
        "`await pipe.hmget(key, 'value', 'version')` (immediate mode), compute, then `pipe.multi()` and queue "
        "the `pipe.hset(...)` (not awaited), `await pipe.execute()`.",
        "`except WatchError: retries += 1` — the next `pipe.watch(key)` starts a fresh attempt. Write "
        "`mapping={'value': encode(new), 'version': int(version or 0) + 1}`.",
    ],
)


def need_script(ns: dict, name: str) -> str:
    """``ns[name]``, a Lua script; NotAttempted while it is still the exercise's placeholder."""
    script = _need(ns, name, "Lua script (a string)")
    if isinstance(script, str) and ("YOUR CODE HERE" in script or "NotImplementedError" in script):
        raise NotAttempted(f"`{name}` still holds the placeholder: write the Lua script between its quotes.")
    return script


def check_lua_script(ns: dict) -> None:
    """CAS_LUA alone: version 0 creates, a wrong version is refused"""
    assert_lua_script(need_script(ns, "CAS_LUA"))


def check_uses_script(ns: dict) -> None:
    """lua_update runs your CAS_LUA, no WATCH"""
    assert_uses_script(_need(ns, "lua_update", "function"), need_script(ns, "CAS_LUA"))


def check_lua_conflict(ns: dict) -> None:
    """a write in the middle of your refresh: refused, re-read, retried"""
    assert_conflict_retried(_need(ns, "lua_update", "function"))


def check_lua_writers(ns: dict) -> None:
    """several writers on separate connections x many updates (seed 0): zero lost, one version bump each"""
    assert_no_lost(_need(ns, "lua_update", "function"), seed=0)


LUA_CAS = Question(
    id="lua_cas",
    title="Compare-and-set as one Lua script",
    checks=[check_lua_script, check_uses_script, check_lua_conflict, check_lua_writers],
    hints=[
        "Redis runs a script as one step: nothing else runs between its HGET and its HSET. So the script "
        "can compare and set, and the Python side only reads, computes and retries.",
        "In Lua: `local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')`; "
        "`if v ~= tonumber(ARGV[1]) then return 0 end`; then HSET and `return 1`.",
        "`lua_update`: `raw, version = await r.hmget(key, 'value', 'version')`; "
        "`new = await change(decode(raw))`; `if await r.eval(CAS_LUA, 1, key, int(version or 0), encode(new)): "
        "return retries`; else `retries += 1` and loop.",
    ],
)

__all__ = ["LUA_CAS", "WATCH_CAS"]
