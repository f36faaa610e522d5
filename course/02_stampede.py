# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (Cache Under Pressure)
#     language: python
#     name: cache-under-pressure
# ---

# %% [markdown]
# # 02 · The stampede
#
# The reviewer is back on your pull request, friendly and exact:
#
# > *The LRU looks fine. But where are the numbers? Does refresh-on-stale actually take load
# > off the database, and what does it do to tail latency? And what happens when two
# > refreshes of the same key race?*
#
# Jaw tight? One slow breath out. *"I'm sharing this draft."* Then measure.
#
# In this module you watch a popular session expire under load, fix the herd with
# **singleflight**, stop making anyone wait with **stale-while-revalidate**, produce the
# benchmark the reviewer asked for, and write the reply.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import asyncio

import matplotlib.pyplot as plt
from cachesim.plots import plot_compare, plot_db_load
from coursekit import check, hint, progress, reveal, start
from cache_course.m02_stampede import STALE_TTL, TTL, NaiveCache, run_stampede
from cache_course.variants import learner_seed, variant_line

start("02_stampede")
SEED = learner_seed("02_stampede", reference=7)  # your variant: from your name, the same when graded
print(variant_line("02_stampede", SEED))

# %% [markdown]
# ## 1 · A hot key expires
#
# The lab bench for this module (`run_stampede`) replays **3 seconds of traffic at 2,000
# requests a second** over 100 users, a few of them very active. Every session was loaded
# just before traffic started, with a one-second TTL, so one second in **every entry
# expires at once**. The database answers in about 50 ms, through a pool of 16 connections.
#
# First, the cache from your draft at its simplest: a dict with a TTL, where every miss
# reads the database.

# %%
before = run_stampede(lambda load: NaiveCache(load, ttl=TTL), seed=SEED, name="naive")
print(f"naive: {before.db_calls:,} database calls, p50 {before.p50 * 1000:.0f} ms, p99 {before.p99 * 1000:.0f} ms")
plot_db_load(before)

# %% [markdown]
# Look at the one-second mark. Every request for an expired user misses, and every miss
# sends its own query. The queries queue for a connection, the queue makes the misses last
# longer, more requests arrive and miss while they wait... For a while the database does
# nothing but answer the same question over and over, and the slowest requests wait
# **half a second or more** for a session that was in memory a moment ago. That is a cache stampede
# (also called a thundering herd), and your p99 is where it shows.

# %% [markdown]
# ## 2 · Singleflight: one load, however many callers
#
# The fix for the herd: when a load for a key is already running, **join it** instead of
# starting another. Go's `singleflight` package made the idea famous.
#
# Write `Singleflight` with one method, `async def do(self, key, fn)`, where `fn` is a
# zero-argument async function (the load):
#
# * the first caller for `key` starts `fn()`; callers who arrive while it runs **share that
#   one execution** and get its result;
# * if `fn()` raises, **every** waiter gets that exception, and it is **not remembered**:
#   once the call is over, the next `do` runs `fn` again;
# * if one caller is cancelled (a client hangs up), the **others still get the result**.
#
# About 10–15 lines. Everything here runs in *virtual time*: a one-second load costs
# microseconds, and the checks are exact. Write it yourself: importing, subclassing or
# wrapping the library's `swrcache.Singleflight` does not count here (use it anywhere else).

# %% nbgrader={"grade": false, "grade_id": "singleflight", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Singleflight:
    """Concurrent calls with the same key share one execution of `fn`."""

    def __init__(self):
        self._calls = {}  # key -> the asyncio.Task running fn() for that key

    async def do(self, key, fn):
        ### BEGIN SOLUTION
        task = self._calls.get(key)
        if task is None:
            task = asyncio.ensure_future(fn())
            self._calls[key] = task

            def forget(done, key=key):
                if self._calls.get(key) is done:  # a newer call may have replaced it
                    del self._calls[key]

            task.add_done_callback(forget)
        # shield: cancelling this caller cancels only its wait, not the shared task
        return await asyncio.shield(task)
        ### END SOLUTION


# %%
check("singleflight")

# %% nbgrader={"grade": true, "grade_id": "test_singleflight", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("singleflight"), "the visible checks above do not pass yet — see the check cell's feedback"
### BEGIN HIDDEN TESTS
from cache_course.m02_stampede import singleflight as _q

# about: your own Singleflight, not swrcache.Singleflight imported, subclassed or wrapped
_q.assert_own_singleflight(Singleflight)
# about: many callers over several keys at once: one load per key, each caller gets its own key's value, and different keys load at the same time
for _seed in (1, 2, 3):
    _q.assert_sf_many_keys(Singleflight, _seed)
# about: most callers giving up while the load runs: the others (and a caller who joins late) still get the value, from one load
for _seed in (4, 5):
    _q.assert_sf_most_callers_give_up(Singleflight, _seed)
# about: a failed load followed by new calls: the error is not remembered, and a finished call is not a cache
_q.assert_sf_finished_call_is_not_a_cache(Singleflight, 6)
### END HIDDEN TESTS

# %% [markdown]
# Put your `Singleflight` in front of the database and replay the same traffic:

# %%
class CoalescingCache:
    """The naive cache, with misses coalesced by your Singleflight."""

    def __init__(self, loader, *, ttl):
        self.loader, self.ttl = loader, ttl
        self._entries = {}
        self._flight = Singleflight()

    def put(self, key, value):
        self._entries[key] = (asyncio.get_running_loop().time(), value)

    async def _load(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value

    async def get(self, key):
        entry = self._entries.get(key)
        if entry is not None and asyncio.get_running_loop().time() - entry[0] < self.ttl:
            return entry[1]
        return await self._flight.do(key, lambda: self._load(key))


coalesced = run_stampede(lambda load: CoalescingCache(load, ttl=TTL), seed=SEED, name="singleflight")
print(f"singleflight: {coalesced.db_calls:,} database calls, p99 {coalesced.p99 * 1000:.0f} ms")
plot_compare([before, coalesced], title="Same traffic, same seed: naive vs singleflight")

# %% [markdown]
# One load per key per expiry, and the herd is gone. That answers *"what happens when two
# refreshes race?"*: the second one doesn't start; it joins the first.
#
# But look at the tail again. Every caller that arrives during a load still **waits** for
# it. Those callers were asking for a session that was fine one second ago.

# %% [markdown]
# ## 3 · Stale-while-revalidate
#
# HTTP caches solved this long ago (RFC 5861, `stale-while-revalidate`): for a while after
# an entry goes stale, **serve the stale value at once and refresh it in the background**.
#
# Complete `get` in `StaleWhileRevalidate`. With `age` = now − the time the value was stored:
#
# * `age < ttl` → fresh: return the value, no load;
# * `ttl <= age < ttl + stale_ttl` → stale: return the value **now**, and start **one**
#   background refresh for the key unless one is already running;
# * no entry, or `age >= ttl + stale_ttl` → callers wait for one coalesced load.
#
# A refresh that fails leaves the stale value in place (the next stale `get` tries again).
# `put` and `_load` are written for you; `self._flight` is your `Singleflight`.

# %% nbgrader={"grade": false, "grade_id": "swr", "locked": false, "schema_version": 3, "solution": true, "task": false}
class StaleWhileRevalidate:
    """Serve stale values while one background refresh per key runs."""

    def __init__(self, loader, *, ttl, stale_ttl):
        self.loader, self.ttl, self.stale_ttl = loader, ttl, stale_ttl
        self._entries = {}  # key -> (stored_at, value)
        self._flight = Singleflight()
        self._refreshing = {}  # key -> background refresh task

    def _now(self):
        return asyncio.get_running_loop().time()

    def put(self, key, value):
        self._entries[key] = (self._now(), value)

    async def _load(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value

    async def get(self, key):
        ### BEGIN SOLUTION
        entry = self._entries.get(key)
        if entry is not None:
            stored_at, value = entry
            age = self._now() - stored_at
            if age < self.ttl:
                return value
            if age < self.ttl + self.stale_ttl:
                if key not in self._refreshing:
                    task = asyncio.ensure_future(self._flight.do(key, lambda: self._load(key)))
                    self._refreshing[key] = task

                    def done(t, key=key):
                        if self._refreshing.get(key) is t:
                            del self._refreshing[key]
                        if not t.cancelled():
                            t.exception()  # a failed refresh keeps the stale value; nothing to raise

                    task.add_done_callback(done)
                return value
        return await self._flight.do(key, lambda: self._load(key))
        ### END SOLUTION


# %%
check("swr")

# %% nbgrader={"grade": true, "grade_id": "test_swr", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("swr"), "the visible checks above do not pass yet — see the check cell's feedback"
### BEGIN HIDDEN TESTS
from cache_course.m02_stampede import swr as _q

# every helper runs your StaleWhileRevalidate with the course's Singleflight: these points are about SWR only
# about: a refresh that fails: the stale value is still served, and a later stale read tries again
_q.assert_swr_failed_refresh_keeps_stale(StaleWhileRevalidate)
# about: a cold load that fails: every waiting caller gets the error, from one load
_q.assert_swr_cold_error_reaches_everyone(StaleWhileRevalidate)
# about: the exact boundaries: fresh before ttl, stale at exactly ttl, the refreshed value right after
_q.assert_swr_boundaries(StaleWhileRevalidate)
# about: the stampede scenario on two other seeds: as many database calls as the reference, and no caller waits
for _seed in (11, 12):
    _q.assert_swr_stampede(StaleWhileRevalidate, _seed)
### END HIDDEN TESTS

# %% [markdown]
# ## 4 · The benchmark the reviewer asked for
#
# Now answer with numbers. Write `benchmark(seed)`: run the stampede once with the naive
# cache (*before*) and once with your `StaleWhileRevalidate` (ttl `TTL`, stale window
# `STALE_TTL`: *after*), and return one row per run:
#
# ```python
# [{"cache": "naive", "db_calls": ..., "p50": ..., "p99": ...},
#  {"cache": "stale-while-revalidate", "db_calls": ..., "p50": ..., "p99": ...}]
# ```
#
# Latencies in seconds, straight from the results (`result.db_calls`, `result.p50`,
# `result.p99`). Then write `plot_benchmark(rows)`: a figure with database calls on one side
# and p99 on the other, one bar per cache; return the figure.

# %% nbgrader={"grade": false, "grade_id": "benchmark", "locked": false, "schema_version": 3, "solution": true, "task": false}
def benchmark(seed):
    ### BEGIN SOLUTION
    runs = {
        "naive": run_stampede(lambda load: NaiveCache(load, ttl=TTL), seed),
        "stale-while-revalidate": run_stampede(
            lambda load: StaleWhileRevalidate(load, ttl=TTL, stale_ttl=STALE_TTL), seed
        ),
    }
    return [{"cache": name, "db_calls": r.db_calls, "p50": r.p50, "p99": r.p99} for name, r in runs.items()]
    ### END SOLUTION


def plot_benchmark(rows):
    ### BEGIN SOLUTION
    names = [r["cache"] for r in rows]
    fig, (calls_ax, p99_ax) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    calls_ax.bar(names, [r["db_calls"] for r in rows], color=["#d62728", "#2ca02c"])
    calls_ax.set_ylabel("database calls (3 s of traffic)")
    p99_ax.bar(names, [r["p99"] * 1000 for r in rows], color=["#d62728", "#2ca02c"])
    p99_ax.set_ylabel("p99 latency (ms)")
    fig.suptitle("Before and after: the same traffic, the same seed")
    return fig
    ### END SOLUTION


# %%
check("benchmark")

# %% nbgrader={"grade": true, "grade_id": "test_benchmark", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("benchmark"), "the visible checks above do not pass yet — see the check cell's feedback"
### BEGIN HIDDEN TESTS
from cache_course.m02_stampede import benchmark as _q

# about: your benchmark on three other seeds, compared with the same runs made by the course (a hard-coded table fails)
for _seed in (21, 22, 23):
    _q.assert_benchmark_numbers(benchmark, _seed)
### END HIDDEN TESTS

# %% [markdown]
# Your table and your figure, from your code:

# %%
rows = benchmark(seed=SEED)
print(f"{'cache':<24}{'DB calls':>10}{'p50':>10}{'p99':>10}")
for r in rows:
    print(f"{r['cache']:<24}{r['db_calls']:>10,}{r['p50'] * 1000:>8.0f}ms{r['p99'] * 1000:>8.0f}ms")
fig = plot_benchmark(rows)
plt.show()

# %% [markdown]
# ## 5 · Reply to the review
#
# You have what the reviewer asked for. Before you type: notice the jaw, one slow breath out,
# *"I'm sharing this draft."*
#
# Write your reply to the review in at most about 150 words. A good reply:
#
# * acknowledges the two questions (benchmarks; two refreshes racing);
# * answers the race in a sentence: what does your code do with the second refresh?
# * gives the numbers from your table, **with units** (DB calls, p50/p99 before → after),
#   and says what you'll measure next;
# * stays level: no defending, no beating yourself up.
#
# A person grades this answer; `check("review_reply")` asks you questions to sharpen it.

# %% nbgrader={"grade": true, "grade_id": "review_reply", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
review_reply = """
### BEGIN SOLUTION
Thanks, both are fair questions. If I understand the race question, the risk is two refreshes
of one session both hitting the database and the older one winning. With singleflight the
second caller joins the first one's load instead, and while it runs everyone gets the stale
value at once: one query per key per expiry. Benchmark on the simulated stampede (3 s at
2,000 requests/s, seed 7): the naive cache made 526 database calls with p99 at 511 ms;
stale-while-revalidate made 195 calls with p99 at 0 ms. I'll add the script to the PR and
next measure what happens when a refresh itself is slow. Does that cover what you wanted?
### END SOLUTION
"""

# %%
check("review_reply")

# %% [markdown]
# Stale-while-revalidate hides a slow refresh from anyone who has a stale value to fall
# back on. In module 03 a blunter reviewer asks about everyone else: what happens when the
# refresh is slow and callers *do* have to wait for it?

# %% tags=["nbval-ignore-output"]
progress()
