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


# %% nbgrader={"grade": true, "grade_id": "test_lru_basic", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("lru_basic"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
import random as _random
from collections import OrderedDict as _OrderedDict

from hypothesis import HealthCheck as _HealthCheck
from hypothesis import given as _given
from hypothesis import settings as _settings
from hypothesis import strategies as _st


class _ModelLRU:
    def __init__(self, capacity):
        self.capacity, self.data = capacity, _OrderedDict()

    def get(self, key):
        if key not in self.data:
            return None
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        if key in self.data:
            self.data.move_to_end(key)
        elif len(self.data) >= self.capacity:
            self.data.popitem(last=False)
        self.data[key] = value


_ops = _st.lists(
    _st.one_of(
        _st.tuples(_st.just("get"), _st.integers(0, 7)),
        _st.tuples(_st.just("put"), _st.integers(0, 7), _st.integers(-5, 5)),
    ),
    max_size=60,
)


@_settings(derandomize=True, max_examples=250, deadline=None, database=None,
           suppress_health_check=list(_HealthCheck))
@_given(capacity=_st.integers(1, 5), ops=_ops)
def _behaves_like_the_model(capacity, ops):
    mine, model = SessionCache(capacity), _ModelLRU(capacity)
    for op in ops:
        if op[0] == "get":
            assert mine.get(op[1]) == model.get(op[1]), op
        else:
            mine.put(op[1], op[2])
            model.put(op[1], op[2])
        assert len(mine) == len(model.data)


# about: long random sequences of get and put on capacities 1 to 5, compared step by step with a reference LRU
_behaves_like_the_model()


class _CountingKey:
    """A key that counts how often the cache hashes or compares it."""

    calls = 0

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        _CountingKey.calls += 1
        return hash(self.n)

    def __eq__(self, other):
        _CountingKey.calls += 1
        return isinstance(other, _CountingKey) and other.n == self.n

    def __lt__(self, other):
        _CountingKey.calls += 1
        return self.n < other.n


def _key_work_per_operation(size):
    """Key hashes and comparisons plus Python lines run, per get or put: a scan shows up in
    one or the other (a C-level search compares keys; a Python loop runs its body n times)."""
    import sys as _sys

    rng = _random.Random(size)
    cache = SessionCache(size)
    for i in range(size):
        cache.put(_CountingKey(i), i)
    lines = [0]

    def _count_lines(frame, event, arg):
        if event == "line":
            lines[0] += 1
        return _count_lines

    _CountingKey.calls = 0
    previous = _sys.gettrace()
    _sys.settrace(_count_lines)
    try:
        for _ in range(200):
            cache.get(_CountingKey(rng.randrange(size)))
            cache.put(_CountingKey(size + rng.randrange(10**9)), 0)
    finally:
        _sys.settrace(previous)
    return (_CountingKey.calls + lines[0]) / 400


# about: the work per get and put staying flat as the cache grows from 50 to 2,000 entries (O(1))
_small, _large = _key_work_per_operation(50), _key_work_per_operation(2000)
assert _large <= 2 * _small + 8, ("work per operation grows with size", _small, _large)
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


# %% nbgrader={"grade": true, "grade_id": "test_hit_ratio", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("hit_ratio"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
import random as _random
from collections import OrderedDict as _OrderedDict


class _ReferenceLRU:
    def __init__(self, capacity):
        self.capacity, self.data = capacity, _OrderedDict()

    def get(self, key, default=None):
        if key not in self.data:
            return default
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        if key in self.data:
            self.data.move_to_end(key)
        elif len(self.data) >= self.capacity:
            self.data.popitem(last=False)
        self.data[key] = value


# about: a long skewed request stream at capacities 1, 4, 16 and 64: the ratio must be a float and exact
_rng = _random.Random(2024)
_stream = [min(int(_rng.paretovariate(1.2)), 60) for _ in range(3000)]
for _capacity in (1, 4, 16, 64):
    _ref = _ReferenceLRU(_capacity)
    _hits = 0
    for _k in _stream:
        if _ref.get(_k) is None:
            _ref.put(_k, _k)
        else:
            _hits += 1
    _got = hit_ratio(_ReferenceLRU(_capacity), _stream)
    assert isinstance(_got, float), type(_got)
    assert abs(_got - _hits / len(_stream)) < 1e-12, (_capacity, _got, _hits / len(_stream))
### END HIDDEN TESTS

# %% [markdown]
# Now the experiment. `cachesim` draws a seeded workload in which a few users are very
# active and most are not (Zipf popularity, 1,000 users); every run gives the same 20,000
# requests. Run it against your cache at several capacities and look at the curve.

# %%
import matplotlib.pyplot as plt
from cachesim.workload import Workload

arrivals = Workload(duration=10, rate=2000, keys=1000, zipf_s=1.0, arrivals="even", seed=42).generate()
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
ax.set_title("Zipf workload, 1,000 users, seed 42")
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

# %% nbgrader={"grade": true, "grade_id": "test_complexity", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("complexity"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
# about: the letter you chose
assert str(complexity_choice).strip().upper() == "C"
### END HIDDEN TESTS

# %% [markdown]
# You can now answer the first review with a cache you built, a curve you measured and a
# complexity you can defend. Next, in module 02, a popular session expires under load.

# %% tags=["nbval-ignore-output"]
progress()
