"""Question `lost_update` (module 04): two refreshes race with a plain SET; a version
compare-and-set, in process, loses nothing. Its assertion helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import random

from coursekit.questions import Question, expect, expect_true

from ..lab import assert_own_work, need as _need, run_virtual as _run
from ..variants import learner_seed
from .lab import race


def _shipped() -> dict:
    from cachesim.shared_store import SharedStoreModel
    from swrcache.redis import RedisStore

    return {"cachesim.shared_store.SharedStoreModel": SharedStoreModel, "swrcache.redis.RedisStore": RedisStore}


def assert_own_store(store_cls) -> None:
    """Your compare-and-set is your own, not the shared-store model's or RedisStore's."""
    shipped = _shipped()
    assert_own_work(store_cls, "VersionedStore", shipped=shipped, make=store_cls)
    # assert_own_work's attribute scan matches top-level packages only; these are a level deeper
    try:
        instance = store_cls()
    except Exception:  # noqa: BLE001 - the behaviour checks report a constructor that fails
        return
    for attr, value in sorted(vars(instance).items()):
        kind = type(value)
        expect_true(f"VersionedStore wraps {kind.__module__}.{kind.__qualname__} (in self.{attr})",
                    not isinstance(value, tuple(shipped.values())),
                    "This question asks you to write the compare-and-set yourself; the shared-store model and "
                    "RedisStore are the library's.", expected="your own VersionedStore", got=kind.__name__)


def assert_cas_semantics(store_cls) -> None:
    """compare_and_set writes only when the version is still the one you read, and bumps it."""

    async def main():
        s = store_cls()
        out = [await s.compare_and_set("k", 0, "a"), await s.get("k"),
               await s.compare_and_set("k", 0, "b"), await s.get("k"),
               await s.compare_and_set("k", 1, "b"), await s.get("k")]
        return out

    got = _run(main, "compare_and_set on a fresh store")
    expect("compare_and_set('k', 0, 'a') on a key never written", got[0], True,
           "A key never written has version 0: expecting 0 must succeed (and create it).")
    expect("get('k') after it", tuple(got[1]), ("a", 1), "A successful write stores the value and version + 1.")
    expect("compare_and_set('k', 0, 'b') when the version is now 1", got[2], False,
           "The version moved on since you read it: refuse the write and return False.")
    expect("get('k') after the refused write", tuple(got[3]), ("a", 1), "A refused write changes nothing.")
    expect("compare_and_set('k', 1, 'b')", (got[4], tuple(got[5])), (True, ("b", 2)),
           "With the current version the write lands and the version becomes 2.")


def assert_cas_atomic(store_cls, seed: int) -> None:
    """Many concurrent compare_and_set calls expecting the same version: exactly one wins."""
    rng = random.Random(seed)
    n = rng.randint(5, 20)

    async def main():
        s = store_cls()
        await s.set("k", "start")
        _, version = await s.get("k")
        wins = await asyncio.gather(*(s.compare_and_set("k", version, f"w{i}") for i in range(n)))
        return wins, await s.get("k")

    wins, (value, version) = _run(main, f"{n} concurrent compare_and_set calls")
    expect_true(f"{n} concurrent compare_and_set calls expecting the same version: winners",
                sum(w is True for w in wins) == 1,
                "Compare and set in one step: no `await` between reading the version and writing. "
                "Do the round trip (`await asyncio.sleep(self.latency)`) first, then check and write.",
                expected=1, got=sum(w is True for w in wins))
    expect("the version after them", version, 2, "One write landed, so the version went from 1 to 2.")


class _Counting:
    """Delegates to a store; counts refused compare_and_set calls."""

    def __init__(self, store):
        self.store, self.refused = store, 0

    async def get(self, key):
        return await self.store.get(key)

    async def set(self, key, value):
        return await self.store.set(key, value)

    async def compare_and_set(self, key, expected_version, value):
        ok = await self.store.compare_and_set(key, expected_version, value)
        self.refused += ok is False
        return ok


def assert_two_refreshes(store_cls, update) -> None:
    """Two refreshes of one key at once: both updates survive; the loser retried."""
    r = race(update, store_cls(), writers=2)
    expect("counter after two racing refreshes (each adds 1)", r.final, 2,
           "The loser's compare_and_set returns False: read the entry again (value and version), "
           "recompute with `change`, and try again until it lands.")
    expect("retries reported by the two calls", r.retries, 1,
           "Return how many times your compare_and_set was refused (the loser: once).")


def assert_race_seeded(store_cls, update, seed: int) -> None:
    """N writers x M updates with random timings: no update lost; the retries reported are the refusals."""
    rng = random.Random(seed)
    writers, updates = rng.randint(3, 8), rng.randint(3, 10)
    counting = _Counting(store_cls())
    r = race(update, counting, writers=writers, updates=updates, seed=seed)
    expect(f"lost updates, {writers} writers x {updates} updates (seed {seed})", r.lost, 0,
           "Every refused write must be retried from a fresh read until it lands.")
    expect(f"retries reported (seed {seed})", r.retries, counting.refused,
           "`cas_update` returns how many of its compare_and_set calls were refused.")


def _store(ns):
    return _need(ns, "VersionedStore")


def check_cas_semantics(ns: dict) -> None:
    """your own compare_and_set writes only when the version is the one you read"""
    store = _store(ns)
    assert_own_store(store)
    assert_cas_semantics(store)


def check_two_refreshes(ns: dict) -> None:
    """two refreshes of one key at once: no update lost, the loser retried"""
    assert_two_refreshes(_store(ns), _need(ns, "cas_update", "function"))


def check_many_callers(ns: dict) -> None:
    """many callers at once: one compare_and_set wins per version, and no update is lost"""
    store = _store(ns)
    seed = learner_seed("04_many_servers", reference=0)
    assert_cas_atomic(store, seed=seed)
    assert_race_seeded(store, _need(ns, "cas_update", "function"), seed=seed)


LOST_UPDATE = Question(
    id="lost_update",
    title="A lost update, then a version compare-and-set",
    checks=[check_cas_semantics, check_two_refreshes, check_many_callers],
    hints=[
        "`compare_and_set` is three lines after the round trip: look up the current version, refuse if it "
        "is not `expected_version`, else store `(value, version + 1)`.",
        "No `await` between the check and the write: then no other task can run in between, and the check "
        "and the write are one step. `cas_update` loops: read, `await change(value)`, compare-and-set.",
        "`while True: value, version = await store.get(key); new = await change(value); "
        "if await store.compare_and_set(key, version, new): return retries; retries += 1`",
    ],
)
