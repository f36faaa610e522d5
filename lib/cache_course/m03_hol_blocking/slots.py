"""Question `slots` (module 03): its assertion helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import random

from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need, run_virtual as _run
from .lab import STALE_TTL, TTL, SlottedCache, WaitingCache, run_hol


# --------------------------------------------------------------------------- refresh slots


def _slots_cls(ns: dict):
    return _need(ns, "RefreshSlots")


def assert_slots_bound(cls) -> None:
    """100 concurrent refreshes of one key, per_key=2: two run, 98 are skipped at once."""
    live = {"now": 0, "max": 0}

    async def refresh():
        live["now"] += 1
        live["max"] = max(live["max"], live["now"])
        await asyncio.sleep(1.0)
        live["now"] -= 1

    async def main():
        slots = cls(per_key=2)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        ran = await asyncio.gather(*(slots.run("k", refresh) for _ in range(100)))
        return ran, loop.time() - t0, slots.running("k")

    ran, elapsed, left = _run(main, "100 concurrent refreshes of one key, per_key=2")
    expect("most refreshes of one key running at once", live["max"], 2,
           "`try_acquire(key)` must say no once `per_key` refreshes of that key are running.")
    expect("refreshes that ran (True) vs were skipped (False)", (ran.count(True), ran.count(False)), (2, 98),
           "`run` returns True if it ran the refresh, False if it skipped it.")
    expect_true("virtual seconds for the 100 calls", abs(elapsed - 1.0) < 1e-6,
                "Skipping must not wait: a caller without a slot returns False at once.",
                expected=1.0, got=round(elapsed, 6))
    expect("running('k') afterwards", left, 0, "Release the slot when the refresh ends.")


def assert_slots_release_on_error(cls) -> None:
    """A failing or cancelled refresh gives its slot back; keys are independent."""

    async def main():
        slots = cls(per_key=1)

        async def boom():
            await asyncio.sleep(0.1)
            raise ConnectionError("db down")

        try:
            await slots.run("a", boom)
        except ConnectionError:
            pass
        after_error = slots.running("a")
        task = asyncio.ensure_future(slots.run("a", lambda: asyncio.sleep(5)))
        await asyncio.sleep(0.1)
        other_key = slots.try_acquire("b")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return after_error, other_key, slots.running("a")

    after_error, other_key, after_cancel = _run(main, "a failing and a cancelled refresh")
    expect("slots of 'a' still taken after its refresh raised (running('a'))", after_error, 0,
           "The slot is never released after an error: once a refresh raises, that slot is gone for good and "
           "the key can't refresh again. Release it in a `finally:` block so an exception can't leak it.")
    expect("try_acquire('b') while 'a' is busy", other_key, True, "Slots are per key: 'a' being busy says nothing about 'b'.")
    expect("slots of 'a' still taken after its refresh was cancelled (running('a'))", after_cancel, 0,
           "The slot is never released after a cancel: cancelling `run` raises CancelledError inside it, which "
           "`except Exception` does not catch. Release in `finally:`, which covers it.")


def assert_slots_random_schedule(cls, seed: int, *, counters: bool = True) -> None:
    """Random refreshes that succeed, fail and get cancelled: never more than per_key, slots always freed
    (and, with ``counters``, no counter left for a key with nothing running)."""
    rng = random.Random(seed)
    per_key = rng.randint(1, 3)
    keys = ["a", "b", "c", "d"]
    live = {k: 0 for k in keys}
    worst = {k: 0 for k in keys}

    async def main():
        slots = cls(per_key)

        def refresh(k, fail):
            async def go():
                live[k] += 1
                worst[k] = max(worst[k], live[k])
                try:
                    await asyncio.sleep(rng.uniform(0.01, 0.5))
                    if fail:
                        raise ConnectionError(k)
                finally:
                    live[k] -= 1
            return go

        tasks = []
        for _ in range(400):
            k = rng.choice(keys)
            tasks.append(asyncio.ensure_future(slots.run(k, refresh(k, rng.random() < 0.2))))
            if rng.random() < 0.1:
                asyncio.get_running_loop().call_later(rng.uniform(0, 0.3), tasks[-1].cancel)
            await asyncio.sleep(rng.uniform(0, 0.02))
        await asyncio.gather(*tasks, return_exceptions=True)
        return [slots.running(k) for k in keys], dict(vars(slots))

    left, state = _run(main, f"400 random refreshes (seed {seed})")
    expect(f"slots still taken once every refresh has ended, per key (seed {seed})", left, [0, 0, 0, 0],
           "A slot is never released after an error or a cancel: every refresh, failed or cancelled, must give "
           "its slot back (`finally:`).")
    expect_true(f"most refreshes of one key at once, per_key={per_key} (seed {seed})",
                all(w <= per_key for w in worst.values()) and any(w == per_key for w in worst.values()),
                "Run up to `per_key` refreshes of a key at once, never more.", expected=per_key, got=max(worst.values()))
    if not counters:
        return
    counters = [v for v in state.values() if isinstance(v, dict)]
    expect_true("counters left for keys with nothing running", all(len(c) == 0 for c in counters),
                "Delete a key's counter when it drops to zero, so the dict doesn't grow forever.",
                expected="none", got=[c for c in counters if c])


def assert_slots_counters_dropped(cls, seed: int) -> None:
    """After random refreshes, no counter is left for a key with nothing running."""
    assert_slots_random_schedule(cls, seed, counters=True)


def assert_slots_reject_zero(cls) -> None:
    """An invalid per_key (0) raises ValueError."""
    try:
        cls(0)
    except ValueError:
        return
    raise AssertionError("per_key=0 must raise ValueError")


def assert_slots_scenario(cls, seed: int) -> None:
    """The slow-refresh scenario: one slot is as frugal as singleflight, k slots never bring a herd."""
    base = run_hol(lambda load: WaitingCache(load, ttl=TTL), seed).db_calls
    for k in (1, 2, 3):
        r = run_hol(lambda load: SlottedCache(load, ttl=TTL, stale_ttl=STALE_TTL, slots=cls(k)), seed)
        expect_true(f"p99 and errors with RefreshSlots({k}) (seed {seed})", r.error_count == 0 and r.p99 == 0.0,
                    "Background refreshes never make a caller wait or fail.", expected="0 s, 0 errors",
                    got=f"{r.p99:.3f} s, {r.error_count} errors")
        ok = (r.db_calls == base) if k == 1 else (base < r.db_calls <= k * base)
        expect_true(f"database calls with RefreshSlots({k}) (seed {seed})", ok,
                    "One slot per key refreshes like singleflight; k slots at most k times as often.",
                    expected=f"{base}" if k == 1 else f"in ({base}, {k * base}]", got=r.db_calls)


def check_slots_bound(ns: dict) -> None:
    """at most per_key refreshes of one key run at once; the rest are skipped at once"""
    cls = _slots_cls(ns)
    assert_slots_bound(cls)
    assert_slots_scenario(cls, 5)  # the same bound in the slow-refresh scenario (the hidden test: other seeds)


def check_slots_release_on_error(ns: dict) -> None:
    """a failing or cancelled refresh gives its slot back; keys are independent"""
    assert_slots_release_on_error(_slots_cls(ns))


SLOTS = Question(
    id="slots",
    title="Bounded refresh concurrency per key",
    checks=[check_slots_bound, check_slots_release_on_error],
    hints=[
        "A dict from key to the number of refreshes running. `try_acquire` checks and increments; "
        "`release` decrements (and deletes the key at zero, so the dict doesn't grow forever).",
        "`try_acquire` is a plain (non-async) method: it never waits, it answers yes or no.",
        "`run`: `if not self.try_acquire(key): return False`, then `try: await refresh()` "
        "`finally: self.release(key)`, then `return True`.",
    ],
)
