"""Module 02 · The stampede: singleflight, stale-while-revalidate, the benchmarks, a reply.

Two parts:

* the module's **lab bench** (`stampede_workload`, `stampede_database`, `connection_pool`,
  `run_stampede`): the scenario the notebook, its visible checks and its hidden tests all
  share, so a learner cannot change what they are graded against by editing a cell;
* the **visible checks** `check("…")` runs. Hidden tests live only in `course/02_stampede.py`.

Everything runs in virtual time (`cachesim.run` / `cachesim.simulate`): a thousand callers
and a two-second load cost milliseconds of wall time, and give the same numbers everywhere.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from coursekit.questions import Module, Mismatch, NotAttempted, Question, expect, expect_true

# --------------------------------------------------------------------------- lab bench

#: Seconds a session stays fresh in the module's caches.
TTL = 1.0
#: Seconds after that a stale session may still be served while it is refreshed.
STALE_TTL = 10.0
#: Database connections the service may hold at once (each query holds one).
POOL_SIZE = 16


def stampede_workload(seed: int):
    """3 s of traffic at 2,000 requests/s over 100 users, a few of them very hot (Zipf 1.1)."""
    from cachesim import Workload

    return Workload(duration=3.0, rate=2000, keys=100, zipf_s=1.1, seed=seed)


def stampede_database(seed: int):
    """The session table: about 50 ms per query (log-normal), seeded."""
    from cachesim import LogNormal, SimulatedDatabase

    return SimulatedDatabase(latency=LogNormal(0.05, 0.3), seed=seed)


def connection_pool(load: Callable, size: int = POOL_SIZE) -> Callable:
    """Wrap `load` so at most `size` queries run at once; the rest queue for a connection.

    That queue is where a stampede turns into tail latency: 16 connections x 50 ms is about
    320 queries a second, and a herd of misses asks for far more.
    """
    pool = asyncio.Semaphore(size)

    async def pooled(key):
        async with pool:
            return await load(key)

    return pooled


class NaiveCache:
    """The draft's cache at its simplest: a dict with a TTL; every miss reads the database."""

    def __init__(self, loader: Callable, *, ttl: float) -> None:
        self.loader, self.ttl = loader, ttl
        self._entries: dict = {}

    def put(self, key, value) -> None:
        self._entries[key] = (asyncio.get_running_loop().time(), value)

    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None and asyncio.get_running_loop().time() - entry[0] < self.ttl:
            return entry[1]
        value = await self.loader(key)
        self.put(key, value)
        return value


class Prefilled:
    """Wraps a cache with `put(key, value)` so `cachesim.simulate` fills it in one instant.

    `simulate(warm=...)` calls `prewarm(keys)`: every key gets version 0 of its session at
    the same virtual time, with no database query, so all entries expire together.
    """

    def __init__(self, cache: Any) -> None:
        put = getattr(cache, "put", None)
        if not callable(put):
            raise Mismatch("your cache's put(key, value)", "a put method", "none",
                           "The starter code gives your class `put`; keep it, the lab bench uses it to pre-fill "
                           "the cache.")
        self.cache = cache
        self.get = cache.get

    async def prewarm(self, keys) -> None:
        for key in keys:
            self.cache.put(key, (key, 0))


def still_starter_code(obj: Any) -> list[str]:
    """Names of the functions or methods of `obj` (a function, class or instance) that still
    raise NotImplementedError: the exercise's starter code.

    >>> class Half:
    ...     def done(self): return 1
    ...     def todo(self): raise NotImplementedError()
    >>> still_starter_code(Half()), still_starter_code(lambda: 1)
    (['Half.todo'], [])
    """
    import types

    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        functions = {obj.__qualname__: obj}
    else:
        cls = obj if isinstance(obj, type) else type(obj)
        functions = {f"{cls.__name__}.{n}": f for n, f in vars(cls).items() if isinstance(f, types.FunctionType)}
    return [name for name, f in functions.items() if "NotImplementedError" in f.__code__.co_names]


def require_finished(*objs: Any) -> None:
    """Stop a demo before it runs on starter code, saying what to finish first.

    A simulation of a stub looks like a perfect result (no database calls, p99 0 ms); this
    makes it say why instead.
    """
    todo = [name for obj in objs for name in still_starter_code(obj)]
    if todo:
        raise NotImplementedError(
            f"{', '.join(f'`{n}`' for n in todo)} still {'raises' if len(todo) == 1 else 'raise'} "
            "NotImplementedError: finish the exercise above (its check says how it is going), "
            "then run this cell again.")


def require_no_stub_errors(result: Any) -> Any:
    """Raise if requests of a finished simulation failed with NotImplementedError; else return it."""
    first = getattr(result, "first_errors", {}).get("NotImplementedError")
    if first:
        raise NotImplementedError(
            f"{result.error_count:,} of {result.requests:,} simulated requests failed with "
            f"{first.rstrip(': ')}: the code this "
            "simulation runs is still starter code. Finish the exercise above (its check says how it is going), "
            "then run this cell again.")
    return result


def run_stampede(make_cache: Callable, seed: int, *, name: str | None = None):
    """Simulate the stampede scenario for one cache factory; returns a `cachesim.SimResult`.

    `make_cache(load)` gets the database's query function (already behind the connection
    pool) and returns a cache with `async get(key)` and `put(key, value)`. Every user's
    session is in the cache when traffic starts, so all entries expire together 1 s in.
    """
    from cachesim import simulate

    workload = stampede_workload(seed)
    return require_no_stub_errors(simulate(
        workload,
        lambda load: Prefilled(make_cache(connection_pool(load))),
        database=stampede_database(seed),
        warm=workload.key_names,
        name=name,
        progress=False,
    ))


# --------------------------------------------------------------------------- helpers


def _need(ns: dict, name: str, what: str = "class") -> Any:
    obj = ns.get(name)
    if obj is None:
        raise NotAttempted(f"`{name}` isn't defined yet: write the {what} and run its cell.")
    return obj


def _run(main: Callable, what: str):
    """Run `main` in virtual time; turn a hang into a readable mismatch."""
    from cachesim import RunawaySimulation, SimulationDeadlock, run

    try:
        return run(main, wall_timeout=20.0, max_virtual_time=600.0)
    except SimulationDeadlock:
        raise Mismatch(what, "every caller finishes", "some callers wait forever",
                       "A caller is awaiting something nobody will complete. Does every waiter get the "
                       "shared result — or the shared error — when the load ends?") from None
    except RunawaySimulation as exc:
        raise Mismatch(what, "the run finishes", "it never finished",
                       f"{exc} Look for a loop that never awaits anything that takes time.") from None


@contextmanager
def reference_singleflight(ns: dict) -> Iterator[None]:
    """Temporarily replace the learner's `Singleflight` with `swrcache.Singleflight`.

    So the stale-while-revalidate checks grade that question alone: a bug in the
    singleflight question costs its own points, not these as well.
    """
    from swrcache import Singleflight as _Reference

    missing = object()
    saved = ns.get("Singleflight", missing)
    ns["Singleflight"] = _Reference
    try:
        yield
    finally:
        if saved is missing:
            ns.pop("Singleflight", None)
        else:
            ns["Singleflight"] = saved


# --------------------------------------------------------------------------- singleflight


def check_sf_thousand_callers(ns: dict) -> None:
    """1,000 concurrent callers of one key share one load and its result"""
    cls = _need(ns, "Singleflight")
    calls = []

    async def main():
        sf = cls()

        async def load():
            calls.append(1)
            await asyncio.sleep(0.5)
            return "session-v2"

        results = await asyncio.gather(*(sf.do("user:42", load) for _ in range(1000)))
        return results, asyncio.get_running_loop().time()

    results, elapsed = _run(main, "1,000 callers of do('user:42', load)")
    expect("loads run for 1,000 concurrent callers", len(calls), 1,
           "Only the first caller should start `fn`; the others join the call already in flight. "
           "Keep the in-flight call (a Task or Future) in a dict keyed by `key`.")
    expect_true("results returned to the 1,000 callers", all(r == "session-v2" for r in results),
                "Every caller gets the shared result.", expected="1000 x 'session-v2'",
                got=sorted(set(map(repr, results)))[:3])
    expect_true("virtual seconds until all returned", abs(elapsed - 0.5) < 1e-6,
                "Everyone should return when the one 0.5 s load finishes.", expected=0.5, got=elapsed)


def check_sf_error_shared_not_remembered(ns: dict) -> None:
    """an error reaches every waiter, and the next call tries again"""
    cls = _need(ns, "Singleflight")
    calls = []

    class DatabaseDown(Exception):
        pass

    async def main():
        sf = cls()

        async def failing():
            calls.append("fail")
            await asyncio.sleep(0.1)
            raise DatabaseDown("connection refused")

        outcomes = await asyncio.gather(*(sf.do("k", failing) for _ in range(50)), return_exceptions=True)

        async def working():
            calls.append("ok")
            return "fresh"

        after = await sf.do("k", working)
        return outcomes, after

    outcomes, after = _run(main, "50 callers of a load that fails")
    expect("loads run for 50 callers of a failing load", calls.count("fail"), 1,
           "A failing load is still one shared load.")
    kinds = sorted({type(o).__name__ for o in outcomes})
    expect_true("what the 50 callers got", all(isinstance(o, DatabaseDown) for o in outcomes),
                "Every waiter should receive the same exception the load raised (not None, not a "
                "CancelledError).", expected="50 x DatabaseDown", got=kinds)
    expect("do('k', working) after the failure", after, "fresh",
           "A failure must not be remembered: once the failed call is over, the next `do` runs its own "
           "`fn`. Remove the key from your dict when the call finishes, whether it succeeded or failed.")


def check_sf_cancel_one(ns: dict) -> None:
    """cancelling the first caller does not cancel the others"""
    cls = _need(ns, "Singleflight")
    calls = []

    async def main():
        sf = cls()

        async def load():
            calls.append(1)
            await asyncio.sleep(1.0)
            return "v"

        first = asyncio.ensure_future(sf.do("k", load))
        await asyncio.sleep(0)  # the first caller starts the load
        others = [asyncio.ensure_future(sf.do("k", load)) for _ in range(9)]
        await asyncio.sleep(0.2)
        first.cancel()
        results = await asyncio.gather(*others, return_exceptions=True)
        return first.cancelled(), results

    first_cancelled, results = _run(main, "ten callers, the first cancelled after 0.2 s")
    expect("loads run", len(calls), 1, "The nine other callers should keep waiting on the same load.")
    good = [r for r in results if r == "v"]
    expect_true("the 9 callers who were not cancelled got", len(good) == 9,
                "When one caller gives up (its task is cancelled), the shared load must go on for the others. "
                "Don't let the caller's cancellation reach the shared task: `await asyncio.shield(task)`.",
                expected="9 x 'v'", got=sorted({type(r).__name__ if not isinstance(r, str) else r for r in results}))
    expect("the cancelled caller was cancelled", first_cancelled, True,
           "The caller who was cancelled should see CancelledError, not a result.")


# --------------------------------------------------------------------------- stale-while-revalidate


def _swr(ns: dict):
    return _need(ns, "StaleWhileRevalidate")


def _counting_loader(log: list, *, delay: float = 1.0, fail: Callable[[int], bool] = lambda n: False):
    async def loader(key):
        n = len(log)
        log.append((key, asyncio.get_running_loop().time()))
        await asyncio.sleep(delay)
        if fail(n):
            raise ConnectionError("database unavailable")
        return f"{key}@v{n + 1}"

    return loader


def check_swr_fresh_and_missing(ns: dict) -> None:
    """a missing key is loaded once; a fresh key is served without a load"""
    cls = _swr(ns)
    log: list = []

    async def main():
        cache = cls(_counting_loader(log, delay=0.05), ttl=1.0, stale_ttl=10.0)
        first = await asyncio.gather(*(cache.get("u") for _ in range(100)))
        await asyncio.sleep(0.5)
        again = await cache.get("u")
        return first, again

    with reference_singleflight(ns):
        first, again = _run(main, "get('u') on an empty cache")
    expect("loads for 100 concurrent gets of a missing key", len(log), 1,
           "A missing key has nothing to serve: callers wait for one coalesced load (`self._flight.do`).")
    expect("get('u') for 100 callers", set(first), {"u@v1"}, "Return the loaded value.")
    expect("get('u') while fresh (age 0.5 s < ttl 1 s)", again, "u@v1",
           "Fresh entries are served from the cache, with no load.")


def check_swr_serves_stale_once(ns: dict) -> None:
    """a stale key is served at once while exactly one refresh runs"""
    cls = _swr(ns)
    log: list = []

    async def main():
        loop = asyncio.get_running_loop()
        cache = cls(_counting_loader(log, delay=1.0), ttl=1.0, stale_ttl=10.0)
        cache.put("u", "old")
        await asyncio.sleep(2.0)  # now stale: 1 s past its ttl, well inside the stale window
        t0 = loop.time()
        during = await asyncio.gather(*(cache.get("u") for _ in range(1000)))
        waited = loop.time() - t0
        await asyncio.sleep(1.5)  # the refresh has finished
        after = await cache.get("u")
        return during, waited, after

    with reference_singleflight(ns):
        during, waited, after = _run(main, "1,000 gets of a stale key")
    expect_true("virtual seconds the 1,000 stale gets waited", waited < 1e-9,
                "A stale entry is served immediately; the refresh runs in the background "
                "(`asyncio.create_task`), nobody awaits it.", expected=0.0, got=round(waited, 6))
    expect("values served while stale", set(during), {"old"}, "Serve the stale value during the refresh.")
    expect("refreshes started by 1,000 stale gets", len(log), 1,
           "Start a refresh only if none is running for that key: coalesce it (singleflight) and/or "
           "remember the running refresh task per key.")
    expect("get('u') after the refresh finished", after, "u@v1", "The refresh must store the new value.")


def check_swr_past_stale_window(ns: dict) -> None:
    """past the stale window, callers wait for a fresh load"""
    cls = _swr(ns)
    log: list = []

    async def main():
        cache = cls(_counting_loader(log, delay=0.25), ttl=1.0, stale_ttl=2.0)
        cache.put("u", "ancient")
        await asyncio.sleep(5.0)  # age 5 s >= ttl + stale_ttl = 3 s: too old to serve
        return await asyncio.gather(*(cache.get("u") for _ in range(10)))

    with reference_singleflight(ns):
        got = _run(main, "get('u') 5 s after put (ttl 1 s, stale_ttl 2 s)")
    expect("values returned 5 s after put", set(got), {"u@v1"},
           "An entry older than ttl + stale_ttl must never be served: wait for the load instead.")
    expect("loads", len(log), 1, "The ten callers share one load.")


# --------------------------------------------------------------------------- benchmark


def _rows(ns: dict):
    fn = _need(ns, "benchmark", "function")
    return fn


def check_benchmark_rows(ns: dict) -> None:
    """benchmark(seed) returns one row per cache with db_calls, p50 and p99"""
    fn = _rows(ns)
    with reference_singleflight(ns):
        rows = fn(3)
    expect_true("type of benchmark(3)", isinstance(rows, list) and all(isinstance(r, dict) for r in rows),
                "Return a list of dicts, one per cache.", expected="list of dicts", got=type(rows).__name__)
    expect("caches in benchmark(3)", [r.get("cache") for r in rows], ["naive", "stale-while-revalidate"],
           "One row for the naive cache (before), one for your StaleWhileRevalidate (after), in that order.")
    for r in rows:
        missing = [k for k in ("db_calls", "p50", "p99") if k not in r]
        expect(f"keys missing from the {r.get('cache')!r} row", missing, [],
               "Each row needs 'cache', 'db_calls', 'p50' and 'p99' (seconds).")


def check_benchmark_numbers(ns: dict) -> None:
    """the numbers are the simulation's, for this seed"""
    fn = _rows(ns)
    sw = _swr(ns)
    with reference_singleflight(ns):
        rows = fn(3)
        naive = run_stampede(lambda load: NaiveCache(load, ttl=TTL), 3)
        after = run_stampede(lambda load: sw(load, ttl=TTL, stale_ttl=STALE_TTL), 3)
    for row, ref in zip(rows, (naive, after)):
        expect(f"{row.get('cache')}: db_calls (seed 3)", row.get("db_calls"), ref.db_calls,
               "Read `result.db_calls` from `run_stampede(...)` — don't type numbers in: the hidden tests use "
               "other seeds.")
        for key in ("p50", "p99"):
            got = row.get(key)
            ok = isinstance(got, (int, float)) and abs(float(got) - getattr(ref, key)) <= 1e-9
            expect_true(f"{row.get('cache')}: {key} in seconds (seed 3)", ok,
                        f"Use `result.{key}` (seconds, not milliseconds).", expected=round(getattr(ref, key), 6),
                        got=got)


def check_benchmark_figure(ns: dict) -> None:
    """plot_benchmark(rows) draws a figure"""
    fn = _need(ns, "plot_benchmark", "function")
    import matplotlib

    rows = [
        {"cache": "naive", "db_calls": 1500, "p50": 0.0, "p99": 2.0},
        {"cache": "stale-while-revalidate", "db_calls": 280, "p50": 0.0, "p99": 0.0},
    ]
    fig = fn(rows)
    expect_true("plot_benchmark(rows) returns", isinstance(fig, matplotlib.figure.Figure),
                "Return the matplotlib Figure (e.g. `fig, axes = plt.subplots(1, 2)` ... `return fig`).",
                expected="a matplotlib Figure", got=type(fig).__name__)
    drawn = sum(len(ax.patches) + len(ax.lines) + len(ax.collections) for ax in fig.axes)
    expect_true("things drawn on the figure", drawn >= 2,
                "Draw the numbers: one bar (or point) per cache, for DB calls and for p99.",
                expected=">= 2 bars or points", got=drawn)
    import matplotlib.pyplot as plt

    plt.close(fig)


MODULE = Module(
    id="02_stampede",
    title="The stampede",
    questions=[
        Question(
            id="singleflight",
            title="Singleflight: one load for a thousand callers",
            checks=[check_sf_thousand_callers, check_sf_error_shared_not_remembered, check_sf_cancel_one],
            hints=[
                "Keep a dict from key to the call in flight. The first caller for a key starts `fn()` as a Task "
                "and stores it; later callers find it there and await the same Task.",
                "Remove the key when the Task finishes — success or failure — so nothing is remembered: "
                "`task.add_done_callback(...)`. Only remove it if the dict still holds *this* task.",
                "Callers should `await asyncio.shield(task)`: if one caller is cancelled, the shield is "
                "cancelled, not the shared task, and the others still get the result.",
            ],
        ),
        Question(
            id="swr",
            title="Stale-while-revalidate",
            checks=[check_swr_fresh_and_missing, check_swr_serves_stale_once, check_swr_past_stale_window],
            hints=[
                "Three cases by age = now − stored_at: age < ttl → the value; ttl ≤ age < ttl + stale_ttl → "
                "the value *and* a background refresh; otherwise (or no entry) → `await` one coalesced load.",
                "A background refresh is a task nobody awaits: `asyncio.create_task(self._flight.do(key, "
                "lambda: self._load(key)))`. Keep it in `self._refreshing[key]` so a second stale get doesn't "
                "start another.",
                "When the refresh task finishes, drop it from `self._refreshing` and retrieve its exception "
                "(`task.exception()` in a done callback) so a failed refresh is neither remembered nor noisy.",
            ],
        ),
        Question(
            id="benchmark",
            title="The benchmarks the reviewer asked for",
            checks=[check_benchmark_rows, check_benchmark_numbers, check_benchmark_figure],
            hints=[
                "`run_stampede(make_cache, seed)` does the simulation; `make_cache` is a function of `load`, "
                "e.g. `lambda load: NaiveCache(load, ttl=TTL)`.",
                "Each result has `.db_calls`, `.p50` and `.p99` (seconds). Build one dict per cache from them.",
                "For the figure: `fig, (left, right) = plt.subplots(1, 2)`, then `left.bar(names, db_calls)` and "
                "`right.bar(names, p99s)`, and `return fig`.",
            ],
        ),
        Question(
            id="review_reply",
            title="Reply to the first review",
            kind="reflect",
            rubric="review_reply",
            answer="review_reply",
            placeholder="# YOUR CODE HERE\nraise NotImplementedError()",
            hints=[
                "Start with the reviewer, not with yourself: one sentence that shows you heard both questions.",
                "Two refreshes racing: what does your singleflight do with the second one? Say it in a sentence.",
                "Give them a number to hold you to: DB calls and p99 before and after, from your table, with units.",
            ],
        ),
    ],
)
