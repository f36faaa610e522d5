"""Question `priority` (module 03): its assertion helpers, visible checks and hints."""

from __future__ import annotations

import asyncio
import random

from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need, run_virtual as _run
from ..variants import learner_seed
from .lab import run_coldstart


# --------------------------------------------------------------------------- priority


def _gate_cls(ns: dict):
    return _need(ns, "PriorityGate")


def assert_priority_order(cls) -> None:
    """With budget 1, queued critical jobs run before queued normal ones; FIFO within each."""
    order: list = []

    async def main():
        gate = cls(budget=1)

        def job(name, seconds=0.1):
            async def run():
                order.append(name)
                await asyncio.sleep(seconds)
                return name
            return run

        tasks = [asyncio.ensure_future(gate.run(job("first", 1.0)))]
        await asyncio.sleep(0)
        for i in range(3):
            tasks.append(asyncio.ensure_future(gate.run(job(f"normal{i}"))))
            await asyncio.sleep(0)
        for i in range(2):
            tasks.append(asyncio.ensure_future(gate.run(job(f"critical{i}"), critical=True)))
            await asyncio.sleep(0)
        return await asyncio.gather(*tasks)

    got = _run(main, "six jobs through a budget of 1")
    expect("order the jobs started", order, ["first", "critical0", "critical1", "normal0", "normal1", "normal2"],
           "When a slot frees, hand it to the oldest waiting critical job, else the oldest normal one "
           "(a heap of (0 or 1, arrival number, future) does both).")
    expect("results", got, ["first", "normal0", "normal1", "normal2", "critical0", "critical1"],
           "`run` returns what `fn()` returned, to its own caller.")


def assert_priority_budget(cls) -> None:
    """Never more than budget jobs at once; a failing job frees its slot."""
    live = {"now": 0, "max": 0}

    async def main():
        gate = cls(budget=3)

        async def work(i):
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])
            await asyncio.sleep(0.1)
            live["now"] -= 1
            if i % 4 == 0:
                raise ConnectionError(i)
            return i

        res = await asyncio.gather(*(gate.run(lambda i=i: work(i), critical=i % 3 == 0) for i in range(40)),
                                   return_exceptions=True)
        return res, asyncio.get_running_loop().time()

    res, elapsed = _run(main, "40 jobs through a budget of 3")
    expect("most jobs running at once (budget 3)", live["max"], 3, "Never run more than `budget` jobs at once.")
    expect("jobs that finished (results or errors)", len(res), 40,
           "Every caller gets its result or its exception; a failing job must still free its slot (`finally`).")
    expect_true("virtual seconds for 40 jobs of 0.1 s with budget 3", abs(elapsed - 1.4) < 1e-6,
                "With 3 slots always busy, 40 jobs take ceil(40/3) x 0.1 s.", expected=1.4, got=round(elapsed, 6))


def assert_priority_scenario(cls, seed: int) -> None:
    """Cold start: critical users' p99 far below everyone's and far below first come, first served."""
    r = run_coldstart(lambda: cls(budget=4), seed)
    crit = r.percentiles(critical_only=True)["p99"]
    everyone = r.p99
    expect_true(f"critical users' p99 vs everyone's p99 (seed {seed})", crit < everyone / 2,
                "Critical users' loads should jump the queue. Does `GatedCache`'s `critical=True` reach your heap?",
                expected=f"< {everyone / 2:.3f} s", got=f"{crit:.3f} s")
    fifo = run_coldstart(lambda: cls(budget=4), seed, prioritise=False)
    fifo_crit = fifo.percentiles(critical_only=True)["p99"]
    expect_true(f"critical users' p99, prioritised vs first come first served (seed {seed})", crit < 0.25 * fifo_crit,
                "Priority should cut critical users' p99 to under a quarter of plain FIFO's.",
                expected=f"< {0.25 * fifo_crit:.3f} s", got=f"{crit:.3f} s")
    expect(f"database calls and errors, prioritised (seed {seed})", (r.db_calls, r.error_count),
           (fifo.db_calls, 0), "Priority changes the order of the loads, not how many there are.")


def assert_priority_cancelled_waiters(cls, seed: int) -> None:
    """Waiters cancelled while queued never run; the budget holds; freed slots are reused at once;
    critical first, and first come, first served within a priority."""
    rng = random.Random(seed)
    live = {"now": 0, "max": 0}
    started = []

    async def main():
        gate = cls(budget=2)

        def job(name, crit):
            async def go():
                started.append((name, crit))
                live["now"] += 1
                live["max"] = max(live["max"], live["now"])
                try:
                    await asyncio.sleep(0.1)
                finally:
                    live["now"] -= 1
                return name
            return go

        tasks = []
        for i in range(60):
            crit = rng.random() < 0.3
            tasks.append(asyncio.ensure_future(gate.run(job(i, crit), critical=crit)))
        await asyncio.sleep(0)
        cancelled = set(rng.sample(range(2, 60), 15))
        for i in cancelled:
            tasks[i].cancel()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        return res, cancelled, gate.running, asyncio.get_running_loop().time()

    res, cancelled, running, elapsed = _run(main, f"60 jobs, 15 cancelled while waiting (seed {seed})")
    expect_true("most jobs at once, and gate.running afterwards", live["max"] <= 2 and running == 0,
                "Never more than `budget` at once; every slot is given back.", expected="<= 2, then 0",
                got=f"{live['max']}, then {running}")
    expect("jobs that ran", sorted({n for n, _ in started}), sorted(set(range(60)) - cancelled),
           "A waiter cancelled while queued must not run.")
    expect_true("virtual seconds for the 45 jobs left", abs(elapsed - 0.1 * ((60 - 15 + 1) // 2)) < 1e-6,
                "A slot freed by a finished job goes to the next live waiter at once.",
                expected=round(0.1 * ((60 - 15 + 1) // 2), 6), got=round(elapsed, 6))
    waiting = started[2:]
    crit_first = [c for _, c in waiting]
    expect_true("critical jobs started before normal ones", crit_first == sorted(crit_first, reverse=True),
                "When a slot frees, the oldest waiting critical job goes first.", expected=True, got=False)
    for flag in (True, False):
        names = [n for n, c in waiting if c == flag]
        expect_true(f"FIFO among {'critical' if flag else 'normal'} jobs", names == sorted(names),
                    "Within a priority, first come, first served (an arrival counter in the heap key).",
                    expected=True, got=False)


def check_priority_order(ns: dict) -> None:
    """with budget 1, queued critical jobs run before queued normal ones; FIFO within each"""
    assert_priority_order(_gate_cls(ns))


def check_priority_budget(ns: dict) -> None:
    """never more than budget jobs at once; a failing job frees its slot"""
    assert_priority_budget(_gate_cls(ns))


def check_priority_scenario(ns: dict) -> None:
    """cold start: critical users' p99 is far below everyone else's"""
    assert_priority_scenario(_gate_cls(ns), learner_seed("03_hol_blocking", reference=5))


PRIORITY = Question(
    id="priority",
    title="Priority for critical users",
    checks=[check_priority_order, check_priority_budget, check_priority_scenario],
    hints=[
        "Fast path: a free slot and nobody waiting → take it. Otherwise wait on a future of your own, "
        "queued in a heap by (0 if critical else 1, arrival number).",
        "When a job finishes, don't free the slot: hand it to the first live waiter in the heap "
        "(`set_result`), and only decrement `running` if nobody waits.",
        "Cancelled waiters: skip futures that are already done when you pop them. A waiter cancelled "
        "*after* being handed a slot must pass it on (call your release again).",
    ],
)
