"""Question `breaker` (module 03): its assertion helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import random

from coursekit.questions import NotAttempted, Question, expect, expect_true

from ..lab import need as _need, run_virtual as _run
from ..variants import learner_seed
from .lab import MAX_DB_CALLS_DURING_OUTAGE, outage_verdict, run_outage


# --------------------------------------------------------------------------- breaker + backoff


def _breaker_parts(ns: dict):
    cls = _need(ns, "CircuitBreaker")
    open_exc = ns.get("CircuitOpen")
    if open_exc is None:
        raise NotAttempted("`CircuitOpen` is missing: re-run the cell that defines it (it is given).")
    return cls, open_exc


def assert_breaker_states(cls, CircuitOpen) -> None:
    """Closed → open after 3 failures → half-open probe after reset_timeout → closed."""
    calls: list = []

    async def main():
        loop = asyncio.get_running_loop()
        br = cls(failure_threshold=3, reset_timeout=1.0, call_timeout=0.5)
        seen = [br.state]

        async def bad():
            calls.append("bad")
            raise ConnectionError("down")

        async def good():
            calls.append("good")
            return "ok"

        for _ in range(3):
            try:
                await br.call(bad)
            except ConnectionError:
                pass
        seen.append(br.state)
        rejected = False
        try:
            await br.call(good)
        except CircuitOpen:
            rejected = True
        await asyncio.sleep(1.5)  # past reset_timeout
        try:
            probe = await br.call(good)
        except CircuitOpen:
            probe = "rejected with CircuitOpen"
        seen.append(br.state)
        return seen, rejected, probe, br.opens

    seen, rejected, probe, opens = _run(main, "three failures, then a call, then a probe 1 s later")
    expect("a call 1.5 s after the breaker opened (reset_timeout=1.0)", probe, "ok",
           "The breaker never lets a probe through after its cool-down: once `reset_timeout` has passed since it "
           "opened, switch to 'half_open' and let that one call through (success closes the breaker). Otherwise "
           "it stays open for good, even when the database is back.")
    expect("state: new, after 3 failures, after a good probe", seen, ["closed", "open", "closed"],
           "Count consecutive failures; at `failure_threshold` switch to 'open'. A successful call closes it again.")
    expect("a call while open raises CircuitOpen", rejected, True,
           "While open (less than `reset_timeout` since it opened), fail fast with `CircuitOpen` — don't call fn.")
    expect("calls that reached the database", calls, ["bad", "bad", "bad", "good"],
           "The call rejected while open must not run fn at all.")
    expect("opens", opens, 1, "Count each switch to 'open' in `self.opens`.")


def assert_breaker_failed_probe(cls, CircuitOpen) -> None:
    """A failed half-open probe opens the breaker again; only one probe at a time."""

    async def main():
        br = cls(failure_threshold=2, reset_timeout=1.0, call_timeout=0.5)

        async def bad():
            await asyncio.sleep(0.2)
            raise ConnectionError("down")

        for _ in range(2):
            try:
                await br.call(bad)
            except ConnectionError:
                pass
        await asyncio.sleep(1.5)  # past reset_timeout: the next call is the half-open probe
        results = await asyncio.gather(*(br.call(bad) for _ in range(5)), return_exceptions=True)
        kinds = sorted(type(r).__name__ for r in results)
        return kinds, br.state, br.opens

    kinds, state, opens = _run(main, "five calls when the reset timeout is over")
    expect("what 5 concurrent calls got in half-open", kinds, ["CircuitOpen"] * 4 + ["ConnectionError"],
           "Half-open lets exactly one probe through; the others are rejected with CircuitOpen while it runs.")
    expect("state after the probe failed", state, "open", "A failed probe opens the breaker again at once.")
    expect("opens", opens, 2, "That's the second time it opened.")


def assert_breaker_timeout(cls) -> None:
    """A call slower than call_timeout fails with TimeoutError and counts as a failure."""

    async def main():
        loop = asyncio.get_running_loop()
        br = cls(failure_threshold=1, reset_timeout=1.0, call_timeout=0.5)
        t0 = loop.time()
        try:
            await br.call(lambda: asyncio.sleep(10))
            outcome = "returned"
        except asyncio.TimeoutError:
            outcome = "TimeoutError"
        except Exception as exc:  # noqa: BLE001
            outcome = type(exc).__name__
        return outcome, loop.time() - t0, br.state

    outcome, waited, state = _run(main, "a 10 s call with call_timeout=0.5")
    expect("a 10 s call with call_timeout=0.5", outcome, "TimeoutError",
           "Bound the call: `await asyncio.wait_for(fn(), self.call_timeout)`.")
    expect_true("virtual seconds waited", abs(waited - 0.5) < 1e-6, "Give up at the timeout.",
                expected=0.5, got=round(waited, 6))
    expect("state after that timeout (failure_threshold=1)", state, "open", "A timeout is a failure.")


def assert_backoff(fn, seed: int = 1) -> None:
    """backoff: random in [0, min(cap, base·2^attempt)], jittered, and drawn from the rng it is given."""
    rng = random.Random(seed)
    for attempt in range(8):
        ceiling = min(2.0, 0.1 * 2 ** attempt)
        draws = [fn(attempt, base=0.1, cap=2.0, rng=rng) for _ in range(200)]
        expect_true(f"backoff({attempt}) range over 200 draws", all(0 <= d <= ceiling + 1e-12 for d in draws),
                    "Each delay lies between 0 and min(cap, base * 2**attempt).",
                    expected=f"[0, {ceiling:g}]", got=f"[{min(draws):.3g}, {max(draws):.3g}]")
        expect_true(f"backoff({attempt}) spread over 200 draws", max(draws) - min(draws) > ceiling / 2,
                    "Jitter: draw uniformly (`rng.uniform(0, ceiling)`) so clients that failed together don't "
                    "retry together.", expected=f"spread > {ceiling / 2:g}", got=round(max(draws) - min(draws), 4))
    a = [fn(3, base=0.1, cap=2.0, rng=random.Random(9)) for _ in range(3)]
    b = [fn(3, base=0.1, cap=2.0, rng=random.Random(9)) for _ in range(3)]
    expect("same rng seed, same delays", a, b, "Use the `rng` you are given, not the `random` module's global one.")


def assert_outage(cls, fn, seed: int, kind: str = "outage") -> None:
    """The curveball (a 4 s outage, or a 100x slow database): stale served, breaker opens, recovery after."""
    result, cache, breaker = run_outage(lambda: cls(failure_threshold=3, reset_timeout=1.0, call_timeout=0.5), fn,
                                        seed, kind=kind)
    v = outage_verdict(result, cache, breaker)
    expect("errors served to callers during the outage", v["errors_served"], 0,
           "Every user has a stale session to fall back on: no caller should see the outage.")
    expect_true("breaker opens", v["breaker_opens"] >= 1, "Consecutive failures should open the breaker.",
                expected=">= 1", got=v["breaker_opens"])
    expect_true("database calls during the 4 s outage", v["db_calls_during_outage"] <= MAX_DB_CALLS_DURING_OUTAGE,
                "While open, the breaker rejects calls without touching the database; backoff spaces out retries.",
                expected=f"<= {MAX_DB_CALLS_DURING_OUTAGE}", got=v["db_calls_during_outage"])
    expect("breaker state at the end", v["breaker_state_at_end"], "closed",
           "Still open after the outage: after its cool-down (`reset_timeout`) the breaker must let a probe "
           "through (half-open), and the first probe that succeeds closes it.")
    expect("entries refreshed after the outage ended", v["entries_refreshed_after_outage"], v["entries"],
           "Recovery: every session should be reloaded once the database is back.")
    expect_true(f"p99 through the {kind} (seed {seed})", result.p99 <= 0.1 + 1e-3,
                "Callers with a stale session wait at most the 0.1 s threshold, outage or not.",
                expected="<= 0.101 s", got=f"{result.p99:.3f} s")


def assert_backoff_far_out(fn, seed: int) -> None:
    """Backoff far out (no overflow, the cap holds) and its jitter (uniform: mean near half the ceiling)."""
    rng = random.Random(seed)
    far = fn(5000, base=0.1, cap=30.0, rng=rng)
    expect_true("backoff(5000, base=0.1, cap=30)", 0 <= far <= 30.0,
                "Clamp the exponent: 2**5000 overflows a float.", expected="[0, 30]", got=far)
    draws = [fn(2, base=0.5, cap=60.0, rng=rng) for _ in range(4000)]
    mean = sum(draws) / len(draws)
    expect_true("mean of 4,000 draws of backoff(2, base=0.5)", abs(mean - 1.0) < 0.06,
                "Full jitter is uniform on [0, ceiling], so the mean is half the ceiling (here 1.0).",
                expected="about 1.0", got=round(mean, 3))


def assert_breaker_success_resets(cls, CircuitOpen) -> None:
    """A success resets the failure count: only consecutive failures open the breaker."""

    async def main():
        br = cls(failure_threshold=3, reset_timeout=1.0, call_timeout=0.5)

        async def bad():
            raise ConnectionError()

        async def good():
            return 1

        seen = []
        for pattern in ("bbgbbgbbg", "bbb"):
            for p in pattern:
                try:
                    await br.call(bad if p == "b" else good)
                except (ConnectionError, CircuitOpen):
                    pass
            seen.append((br.state, br.opens))
        return seen

    expect("(state, opens) after bad,bad,good x3 and then bad x3", _run(main, "failures with successes between"),
           [("closed", 0), ("open", 1)], "Count consecutive failures; a success resets the count.")


def assert_breaker_cancelled_probe(cls) -> None:
    """A half-open probe that is cancelled: the breaker can probe again."""

    async def main():
        br = cls(failure_threshold=1, reset_timeout=1.0, call_timeout=5.0)

        async def bad():
            raise ConnectionError()

        try:
            await br.call(bad)
        except ConnectionError:
            pass
        await asyncio.sleep(1.5)
        probe = asyncio.ensure_future(br.call(lambda: asyncio.sleep(3.0)))
        await asyncio.sleep(0.1)
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)

        async def good():
            return "ok"

        return await br.call(good), br.state

    expect("a call after a cancelled half-open probe, and the state", _run(main, "a cancelled probe"),
           ("ok", "closed"), "After a cancelled probe the breaker never lets another probe through: clear the "
           "probe flag in `finally:` (cancellation is not an `Exception`).")


def check_breaker_states(ns: dict) -> None:
    """closed → open after 3 failures → half-open probe after reset_timeout → closed"""
    assert_breaker_states(*_breaker_parts(ns))

def check_breaker_failed_probe(ns: dict) -> None:
    """a failed half-open probe opens the breaker again; only one probe at a time"""
    assert_breaker_failed_probe(*_breaker_parts(ns))

def check_breaker_timeout(ns: dict) -> None:
    """a call slower than call_timeout fails with TimeoutError and counts as a failure"""
    assert_breaker_timeout(_breaker_parts(ns)[0])


def check_backoff(ns: dict) -> None:
    """backoff: random in [0, min(cap, base·2^attempt)], jittered, seeded"""
    assert_backoff(_need(ns, "backoff", "function"), seed=1)


def check_outage_curveball(ns: dict) -> None:
    """curveball: a 4 s outage mid-run — stale served, breaker opens, recovery after"""
    assert_outage(_breaker_parts(ns)[0], _need(ns, "backoff", "function"), learner_seed("03_hol_blocking", reference=5))


BREAKER = Question(
    id="breaker",
    title="Refresh timeout, circuit breaker, jittered backoff",
    checks=[check_breaker_states, check_breaker_failed_probe, check_breaker_timeout, check_backoff,
                    check_outage_curveball],
    hints=[
        "Three states. closed: call fn, count consecutive failures, open at the threshold. open: reject "
        "with CircuitOpen until `reset_timeout` has passed since it opened, then become half-open. "
        "half-open: let one call through (the probe).",
        "Remember when it opened (`asyncio.get_running_loop().time()`) and whether a probe is in flight. "
        "Success: failures = 0, state closed. Failure in half-open: open again.",
        "The timeout is `await asyncio.wait_for(fn(), self.call_timeout)` inside the try. "
        "Backoff (full jitter): `rng.uniform(0, min(cap, base * 2 ** attempt))` — and clamp the "
        "exponent so attempt 5000 doesn't overflow.",
    ],
)
