"""Module 02 (the stampede): the autograder test cells accept the reference and reject wrong answers.

"wrong" answers fail the whole test cell; "beyond" answers pass the visible `check` and are
caught only by the hidden tests (hidden tests go beyond the visible check).
"""

from __future__ import annotations

import pytest
from modules_harness import (
    assert_hidden_catches, assert_reference_passes, assert_wrong_fails, code_cells, run_question,
)

from coursekit import check

# each case executes the module's cells in-process (a second or two): not for `make test-fast`
pytestmark = pytest.mark.slow

MODULE = "02_stampede"

# --------------------------------------------------------------------------- singleflight

SF_NO_COALESCING = """
class Singleflight:
    def __init__(self):
        self._calls = {}

    async def do(self, key, fn):
        return await fn()
"""

SF_REMEMBERS_ERRORS = """
class Singleflight:
    def __init__(self):
        self._calls = {}

    async def do(self, key, fn):
        task = self._calls.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._calls[key] = task          # never forgotten: errors (and results) stick
        return await asyncio.shield(task)
"""

SF_CANCEL_CANCELS_ALL = """
class Singleflight:
    def __init__(self):
        self._calls = {}

    async def do(self, key, fn):
        task = self._calls.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._calls[key] = task
            task.add_done_callback(lambda t, key=key: self._calls.pop(key, None))
        return await task                    # no shield: one cancelled caller cancels the load
"""

# passes the visible check (one key, leader cancelled), fails hidden tests
SF_REMEMBERS_RESULTS = """
class Singleflight:
    def __init__(self):
        self._calls = {}

    async def do(self, key, fn):
        task = self._calls.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(fn())
            self._calls[key] = task          # successes are cached forever: not a singleflight
        return await asyncio.shield(task)
"""

SF_GLOBAL_LOCK = """
class Singleflight:
    def __init__(self):
        self._calls = {}
        self._lock = None

    async def do(self, key, fn):
        task = self._calls.get(key)
        if task is None:
            if self._lock is None:
                self._lock = asyncio.Lock()

            async def locked():
                async with self._lock:       # every key waits for every other key
                    return await fn()

            task = asyncio.ensure_future(locked())
            self._calls[key] = task
            task.add_done_callback(lambda t, key=key: self._calls.pop(key, None))
        return await asyncio.shield(task)
"""

SF_FOLLOWERS_UNSHIELDED = """
class Singleflight:
    def __init__(self):
        self._calls = {}

    async def do(self, key, fn):
        task = self._calls.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._calls[key] = task
            task.add_done_callback(lambda t, key=key: self._calls.pop(key, None))
            return await asyncio.shield(task)  # the first caller is careful...
        return await task                       # ...the others cancel everyone when they leave
"""

# --------------------------------------------------------------------------- swr

_SWR_HEAD = """
class StaleWhileRevalidate:
    def __init__(self, loader, *, ttl, stale_ttl):
        self.loader, self.ttl, self.stale_ttl = loader, ttl, stale_ttl
        self._entries = {}
        self._flight = Singleflight()
        self._refreshing = {}

    def _now(self):
        return asyncio.get_running_loop().time()

    def put(self, key, value):
        self._entries[key] = (self._now(), value)

    async def _load(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value
"""

SWR_BLOCKING = _SWR_HEAD + """
    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None and self._now() - entry[0] < self.ttl:
            return entry[1]
        return await self._flight.do(key, lambda: self._load(key))   # stale callers wait too
"""

SWR_REFRESH_PER_CALLER = _SWR_HEAD + """
    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None:
            age = self._now() - entry[0]
            if age < self.ttl:
                return entry[1]
            if age < self.ttl + self.stale_ttl:
                asyncio.ensure_future(self._load(key))   # every stale read refreshes: a herd
                return entry[1]
        return await self._flight.do(key, lambda: self._load(key))
"""

# passes the visible check; a failed refresh is remembered: the key is never refreshed again
SWR_REMEMBERS_FAILED_REFRESH = _SWR_HEAD + """
    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None:
            age = self._now() - entry[0]
            if age < self.ttl:
                return entry[1]
            if age < self.ttl + self.stale_ttl:
                if key not in self._refreshing:
                    task = asyncio.ensure_future(self._flight.do(key, lambda: self._load(key)))
                    self._refreshing[key] = task
                    def done(t, key=key):
                        if not t.cancelled() and t.exception() is None:
                            self._refreshing.pop(key, None)   # only forgotten on success
                    task.add_done_callback(done)
                return entry[1]
        return await self._flight.do(key, lambda: self._load(key))
"""

# passes the visible check; off by one at the ttl boundary (age == ttl counts as fresh)
SWR_BOUNDARY = _SWR_HEAD + """
    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None:
            age = self._now() - entry[0]
            if age <= self.ttl:
                return entry[1]
            if age <= self.ttl + self.stale_ttl:
                if key not in self._refreshing:
                    task = asyncio.ensure_future(self._flight.do(key, lambda: self._load(key)))
                    self._refreshing[key] = task
                    task.add_done_callback(lambda t, key=key: (self._refreshing.pop(key, None),
                                                               t.cancelled() or t.exception()))
                return entry[1]
        return await self._flight.do(key, lambda: self._load(key))
"""

# --------------------------------------------------------------------------- benchmark

_PLOT = """
def plot_benchmark(rows):
    fig, (left, right) = plt.subplots(1, 2)
    left.bar([r["cache"] for r in rows], [r["db_calls"] for r in rows])
    right.bar([r["cache"] for r in rows], [r["p99"] for r in rows])
    return fig
"""

# what the task does not ask for: one panel of database calls, no p99 anywhere
ONE_PANEL_NO_P99 = """
def plot_benchmark(rows):
    fig, ax = plt.subplots()
    ax.bar([r["cache"] for r in rows], [r["db_calls"] for r in rows])
    return fig
"""

# two panels, but p50 where p99 belongs
P50_NOT_P99 = """
def plot_benchmark(rows):
    fig, (left, right) = plt.subplots(1, 2)
    left.bar([r["cache"] for r in rows], [r["db_calls"] for r in rows])
    right.bar([r["cache"] for r in rows], [r["p50"] * 1000 for r in rows])
    return fig
"""

# the right numbers for seed 3, typed in: passes the visible check, fails every other seed
BENCH_HARDCODED = """
def benchmark(seed):
    return [{"cache": "naive", "db_calls": %(n_calls)d, "p50": %(n_p50)r, "p99": %(n_p99)r},
            {"cache": "stale-while-revalidate", "db_calls": %(s_calls)d, "p50": %(s_p50)r, "p99": %(s_p99)r}]
""" + _PLOT

BENCH_MILLISECONDS = """
def benchmark(seed):
    rows = []
    for name, make in (("naive", lambda load: NaiveCache(load, ttl=TTL)),
                       ("stale-while-revalidate", lambda load: StaleWhileRevalidate(load, ttl=TTL, stale_ttl=STALE_TTL))):
        r = run_stampede(make, seed)
        rows.append({"cache": name, "db_calls": r.db_calls, "p50": r.p50 * 1000, "p99": r.p99 * 1000})
    return rows
""" + _PLOT


def _hardcoded_seed3() -> str:
    """The reference answer's numbers for the visible check's seed, typed in as constants."""
    naive, swr = run_question(MODULE, "benchmark").ns["benchmark"](3)
    return BENCH_HARDCODED % dict(n_calls=naive["db_calls"], n_p50=naive["p50"], n_p99=naive["p99"],
                                  s_calls=swr["db_calls"], s_p50=swr["p50"], s_p99=swr["p99"])


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("question", ["singleflight", "swr", "benchmark"])
def test_reference_passes(question):
    assert_reference_passes(MODULE, question)


@pytest.mark.parametrize(
    "question, answer",
    [
        ("singleflight", SF_NO_COALESCING),
        ("singleflight", SF_REMEMBERS_ERRORS),
        ("singleflight", SF_CANCEL_CANCELS_ALL),
        ("swr", SWR_BLOCKING),
        ("swr", SWR_REFRESH_PER_CALLER),
        ("benchmark", BENCH_MILLISECONDS),
    ],
    ids=["sf-no-coalescing", "sf-remembers-errors", "sf-cancel-cancels-all", "swr-blocking", "swr-herd",
         "bench-milliseconds"],
)
def test_wrong_answer_fails(question, answer):
    assert_wrong_fails(MODULE, question, answer)


@pytest.mark.parametrize(
    "question, answer",
    [
        ("singleflight", SF_REMEMBERS_RESULTS),
        ("singleflight", SF_GLOBAL_LOCK),
        ("singleflight", SF_FOLLOWERS_UNSHIELDED),
        ("swr", SWR_REMEMBERS_FAILED_REFRESH),
        ("swr", SWR_BOUNDARY),
        ("benchmark", None),  # filled in below: numbers hard-coded for the visible seed
    ],
    ids=["sf-remembers-results", "sf-global-lock", "sf-followers-unshielded", "swr-remembers-failure",
         "swr-ttl-boundary", "bench-hardcoded"],
)
def test_hidden_tests_catch_what_check_misses(question, answer):
    if answer is None:
        answer = _hardcoded_seed3()
    assert_hidden_catches(MODULE, question, answer)


def test_untouched_stub_is_not_attempted():
    stub = """
class Singleflight:
    def __init__(self):
        self._calls = {}

    async def do(self, key, fn):
        # YOUR CODE HERE
        raise NotImplementedError()
"""
    out = run_question(MODULE, "singleflight", stub)
    assert not out.visible_passed
    assert out.error is not None


@pytest.mark.parametrize(("plot", "says"), [
    (ONE_PANEL_NO_P99, "panels with data in the figure: expected '2 (database calls, p99)', got 1"),
    (P50_NOT_P99, "a panel with one bar per cache for p99"),
], ids=["one-panel-no-p99", "p50-instead-of-p99"])
def test_plot_benchmark_must_draw_what_the_task_asks(plot, says):
    """The figure the task asks for: database calls on one side, p99 on the other."""
    reference = dict((gid, src) for gid, src in code_cells(MODULE) if gid)["benchmark"]
    answer = reference.split("def plot_benchmark")[0] + plot
    out = run_question(MODULE, "benchmark", answer)
    assert not out.visible_passed and isinstance(out.error, AssertionError), repr(out.error)
    report = check("benchmark", ns=out.ns, quiet=True).text()
    assert says in report, report
    assert "p99" in report.split(says)[1].splitlines()[0], "the message names what is missing"


def test_plot_benchmark_accepts_p99_in_seconds_or_milliseconds():
    from cache_course.m02_stampede.benchmark import assert_benchmark_figure

    ns = run_question(MODULE, "benchmark").ns
    assert_benchmark_figure(ns["plot_benchmark"])  # the reference: milliseconds
    exec(_PLOT, ns)
    assert_benchmark_figure(ns["plot_benchmark"])  # seconds
