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
# # 01 · LRU: is it really O(1)?
#
# The first review of your pull request is friendly and precise: *"The LRU's complexity
# looks fine, but show me: are `get` and `put` constant time, eviction included? And how
# much database load does it actually save?"*
#
# Jaw tight? One slow exhale. *"I'm sharing this draft."* Then you answer the way engineers
# answer: by building it and measuring it.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from coursekit import check, hint, progress, reveal, start

start("01_lru")

# %% [markdown]
# ## 1 · An O(1) LRU cache
#
# Write `SessionCache(capacity)`, a cache that holds at most `capacity` sessions:
#
# * `get(key, default=None)` returns the value, or `default` when the key is absent;
#   a hit makes the key the *most recently used*;
# * `put(key, value)` stores the value (updating a key also makes it most recently used);
#   when a new key would exceed `capacity`, the **least recently used** key is evicted first;
# * `len(cache)` is the number of keys held.
#
# Both operations must take constant time however full the cache is: no loop over the
# entries, no `list.remove`, no search for the oldest entry. A dict finds an entry in O(1);
# something else has to remember the order.
#
# Write it yourself: the course's library has an `LRUCache` (`swrcache.LRUCache`), and
# importing, subclassing or wrapping it does not count for this question (use it anywhere else).

# %% nbgrader={"grade": false, "grade_id": "lru_basic", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SessionCache:
    """A least-recently-used cache with O(1) get and put."""

    def __init__(self, capacity):
        ### BEGIN SOLUTION
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        # key -> node [prev, next, key, value] of a circular doubly linked list around a
        # sentinel: sentinel[NEXT] is the least recently used node, sentinel[PREV] the most.
        self._nodes = {}
        self._root = root = []
        root[:] = [root, root, None, None]
        ### END SOLUTION

    def get(self, key, default=None):
        ### BEGIN SOLUTION
        node = self._nodes.get(key)
        if node is None:
            return default
        node[0][1], node[1][0] = node[1], node[0]  # unlink
        last = self._root[0]  # relink as the newest
        node[0], node[1] = last, self._root
        last[1] = self._root[0] = node
        return node[3]
        ### END SOLUTION

    def put(self, key, value):
        ### BEGIN SOLUTION
        if key in self._nodes:
            self.get(key)  # marks it most recently used
            self._nodes[key][3] = value
            return
        root = self._root
        if len(self._nodes) >= self.capacity:
            oldest = root[1]
            oldest[0][1], oldest[1][0] = oldest[1], oldest[0]
            del self._nodes[oldest[2]]
        last = root[0]
        node = [last, root, key, value]
        last[1] = root[0] = node
        self._nodes[key] = node
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self._nodes)
        ### END SOLUTION


# %%
check("lru_basic")

# %% [markdown]
# `check` says, check by check, what was expected and what came back. Stuck? `hint("lru_basic")`
# gives a nudge (call it again for a more specific one). Once the check passes,
# `reveal("lru_basic")` shows the reference answer to compare with yours. The cell after it
# is the autograder's: it runs the same check, then hidden tests when your work is graded.

# %% nbgrader={"grade": true, "grade_id": "test_lru_basic", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("lru_basic"), "the visible checks above do not pass yet — see the check cell's feedback"
### BEGIN HIDDEN TESTS
from cache_course.m01_lru import assert_constant_work as _assert_constant_work
from cache_course.m01_lru import assert_matches_reference_lru as _assert_like_reference
from cache_course.m01_lru import assert_own_lru as _assert_own_lru

# about: your own LRU, not swrcache.LRUCache imported, subclassed or wrapped
_assert_own_lru(SessionCache)
# about: long random sequences of get and put on capacities 1 to 5, compared step by step with a reference LRU
for _seed in (101, 102, 103, 104, 105):
    _assert_like_reference(SessionCache, _seed, sequences=50)
# about: the work per get and put staying flat as the cache grows from 50 to 2,000 entries (O(1))
_assert_constant_work(SessionCache, small=50, large=2000)
### END HIDDEN TESTS

# %% [markdown]
# ## 2 · Measure: hit ratio against capacity
#
# The reviewer's second question is about load: every miss is a database read. The share
# of requests the cache answers, the **hit ratio**, is the number to watch.
#
# Write `hit_ratio(cache, keys)`: replay the requests in `keys` against `cache`. A request
# whose `get` returns `None` is a miss: count it and `put(key, key)` to fill the cache, as
# the service would after reading the database. Return hits ÷ requests as a float.

# %% nbgrader={"grade": false, "grade_id": "hit_ratio", "locked": false, "schema_version": 3, "solution": true, "task": false}
def hit_ratio(cache, keys):
    ### BEGIN SOLUTION
    hits = 0
    for key in keys:
        if cache.get(key) is None:
            cache.put(key, key)
        else:
            hits += 1
    return hits / len(keys)
    ### END SOLUTION


# %%
check("hit_ratio")

# %% nbgrader={"grade": true, "grade_id": "test_hit_ratio", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("hit_ratio"), "the visible checks above do not pass yet — see the check cell's feedback"
### BEGIN HIDDEN TESTS
from cache_course.m01_lru import assert_hit_ratio_exact as _assert_hit_ratio_exact

# about: a long skewed request stream at capacities 1, 4, 16 and 64: the ratio must be a float and exact
_assert_hit_ratio_exact(hit_ratio, 2024, requests=3000, capacities=(1, 4, 16, 64))
### END HIDDEN TESTS

# %% [markdown]
# Now the experiment. `cachesim` draws a seeded workload in which a few users are very
# active and most are not (Zipf popularity, 1,000 users); every run gives the same 20,000
# requests. Run it against your cache at several capacities and look at the curve.

# %%
import matplotlib.pyplot as plt
from cachesim.workload import Workload

from cache_course.variants import learner_seed, variant_line

SEED = learner_seed("01_lru", reference=42)  # your variant: from your name, the same when graded
print(variant_line("01_lru", SEED))
arrivals = Workload(duration=10, rate=2000, keys=1000, zipf_s=1.0, arrivals="even", seed=SEED).generate()
keys = [arrivals.key_names[i] for i in arrivals.keys]
CAPACITIES = [10, 25, 50, 100, 250, 500, 1000]
ratios = [hit_ratio(SessionCache(c), keys) for c in CAPACITIES]

for c, r in zip(CAPACITIES, ratios):
    print(f"capacity {c:>5}: hit ratio {r:.1%}")

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(CAPACITIES, ratios, marker="o")
ax.set_xscale("log")
ax.set_xlabel("capacity (sessions cached)")
ax.set_ylabel("hit ratio")
ax.set_ylim(0, 1)
ax.set_title(f"Zipf workload, 1,000 users, seed {SEED}")
ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# A tenth of the users in cache already answers more than half of the requests; the last
# few percent cost far more memory. That is the curve to show the reviewer next to the
# database-load numbers.
#
# ## 3 · A question of complexity
#
# A teammate suggests a simpler design: keep the recency order in a plain Python `list`,
# and on every hit call `order.remove(key)` then `order.append(key)`. With `n` sessions in
# the cache, what does one `get` cost?
#
# * **A** O(1): `remove` and `append` are each a single list operation
# * **B** O(log n): Python finds the key by bisecting the list
# * **C** O(n)
# * **D** O(1) amortised, like `append` on its own
#
# Set `complexity_choice` to the letter of your answer, as a string.

# %% nbgrader={"grade": false, "grade_id": "complexity", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
complexity_choice = "C"
### END SOLUTION

# %%
check("complexity")

# %% nbgrader={"grade": true, "grade_id": "test_complexity", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("complexity"), "the visible checks above do not pass yet — see the check cell's feedback"
### BEGIN HIDDEN TESTS
from cache_course.m01_lru import assert_complexity as _assert_complexity

# about: the letter you chose
_assert_complexity(complexity_choice)
### END HIDDEN TESTS

# %% [markdown]
# You can now answer the first review with a cache you built, a curve you measured and a
# complexity you can defend. Next, in module 02, a popular session expires under load.

# %% tags=["nbval-ignore-output"]
progress()
