"""Module 01 · LRU: an O(1) LRU cache, its hit ratio on a Zipf workload, a complexity question.

Each question once: its assertion helpers (``assert_…``, taking a seed or sizes), the visible
checks that call them, and its hints. The hidden tests in ``course/01_lru.py`` call the same
helpers with other seeds and sizes, so the visible check and the hidden test cannot drift.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections import OrderedDict

from coursekit.figures import Figure
from coursekit.questions import Module, NotAttempted, Question, expect, expect_true

from .lab import assert_own_work
from .variants import learner_seed

# --------------------------------------------------------------------------- lru_basic


class ReferenceLRU:
    """The model the learner's cache is compared with, step by step."""

    def __init__(self, capacity):
        self.capacity, self.data = capacity, OrderedDict()

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

    def __len__(self):
        return len(self.data)


def assert_matches_reference_lru(cls, seed: int, *, sequences: int = 50, max_ops: int = 60,
                                 capacities: tuple[int, ...] = (1, 2, 3, 4, 5)) -> None:
    """``sequences`` random runs of get/put (keys 0-7) at the given capacities, compared step by step."""
    rng = random.Random(seed)
    for _ in range(sequences):
        capacity = rng.choice(capacities)
        mine, model, done = cls(capacity), ReferenceLRU(capacity), []
        for _ in range(rng.randint(0, max_ops)):
            key = rng.randint(0, 7)
            if rng.random() < 0.5:
                done.append(f"get({key})")
                expect(f"capacity {capacity}, after {'; '.join(done[-6:])}", mine.get(key), model.get(key),
                       "Compare with an LRU that evicts the least recently used key.")
            else:
                value = rng.randint(-5, 5)
                done.append(f"put({key}, {value})")
                mine.put(key, value)
                model.put(key, value)
            expect(f"len(cache) at capacity {capacity} after {'; '.join(done[-6:])}", len(mine), len(model),
                   "`__len__` counts the keys held, never more than `capacity`.")


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

    def __repr__(self):
        return f"key{self.n}"


def key_work_per_operation(cls, size: int, *, ops: int = 200) -> float:
    """Key hashes and comparisons plus Python lines run, per get or put, on a full cache of
    ``size``: a scan shows up in one or the other (a C-level search compares keys; a Python
    loop runs its body n times)."""
    rng = random.Random(size)
    cache = cls(size)
    for i in range(size):
        cache.put(_CountingKey(i), i)
    lines = [0]

    def count_lines(frame, event, arg):
        if event == "line":
            lines[0] += 1
        return count_lines

    _CountingKey.calls = 0
    previous = sys.gettrace()
    sys.settrace(count_lines)
    try:
        for _ in range(ops):
            cache.get(_CountingKey(rng.randrange(size)))
            cache.put(_CountingKey(size + rng.randrange(10**9)), 0)
    finally:
        sys.settrace(previous)
    return (_CountingKey.calls + lines[0]) / (2 * ops)


def assert_constant_work(cls, small: int, large: int) -> None:
    """The work per get and put stays flat from ``small`` to ``large`` entries: O(1)."""
    at_small, at_large = key_work_per_operation(cls, small), key_work_per_operation(cls, large)
    expect_true(f"work per get/put at {large} entries vs at {small}", at_large <= 2 * at_small + 8,
                "The work per operation grows with the size of the cache, so something scans the entries "
                "(a loop over them, `list.remove`, `min`, a search for the oldest). Keep the order in a "
                "structure that can unlink an entry it already holds a reference to.",
                expected=f"<= {2 * at_small + 8:.0f} (flat)", got=f"{at_large:.0f} ({at_small:.0f} at {small})")


def _shipped_lru() -> dict:
    import swrcache

    return {"swrcache.LRUCache": swrcache.LRUCache}


def assert_own_lru(cls) -> None:
    """SessionCache is your own LRU, not `swrcache.LRUCache` imported, subclassed or wrapped."""
    assert_own_work(cls, "SessionCache", shipped=_shipped_lru(), make=lambda: cls(4))


def _cache_class(ns: dict):
    cls = ns.get("SessionCache")
    if cls is None:
        raise NotAttempted("`SessionCache` isn't defined yet: write the class and run its cell.")
    return cls


def _new(ns: dict, capacity: int):
    return _cache_class(ns)(capacity)


def check_get_and_put(ns: dict) -> None:
    """get returns what put stored, and the default for a missing key"""
    cache = _new(ns, 2)
    cache.put("alice", "session-a")
    expect("get('alice') after put('alice', 'session-a')", cache.get("alice"), "session-a",
           "`get` should return the value `put` stored.")
    expect("get('nobody')", cache.get("nobody"), None, "A missing key returns the default, None.")
    expect("get('nobody', 'n/a')", cache.get("nobody", "n/a"), "n/a",
           "Pass the `default` argument through when the key is missing.")
    expect("len(cache) after one put", len(cache), 1, "`__len__` counts the keys held.")


def check_evicts_least_recently_used(ns: dict) -> None:
    """a full cache evicts a key to make room (the oldest, when nothing was read in between)"""
    cache = _new(ns, 2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    expect("get('a') after put a, b, c into capacity 2", cache.get("a"), None,
           "When a new key would exceed capacity, evict the oldest key first.")
    expect("get('b')", cache.get("b"), 2, "Only one key should have been evicted.")
    expect("get('c')", cache.get("c"), 3, "The new key must be stored after evicting.")
    expect("len(cache)", len(cache), 2, "The cache never holds more than `capacity` keys.")


def check_get_refreshes_recency(ns: dict) -> None:
    """a hit makes the key the most recently used"""
    cache = _new(ns, 2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    expect("get('b') after put a, put b, get a, put c (capacity 2)", cache.get("b"), None,
           "`get('a')` made 'a' the most recent, so 'b' was the least recently used.")
    expect("get('a')", cache.get("a"), 1, "A key that was just read must survive the next eviction.")


def check_put_updates(ns: dict) -> None:
    """putting an existing key updates it without evicting anything"""
    cache = _new(ns, 2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    expect("len(cache) after put a, put b, put a", len(cache), 2,
           "Updating a key is not a new key: nothing should be evicted and nothing duplicated.")
    cache.put("c", 3)
    expect("get('a') after updating 'a' then adding 'c'", cache.get("a"), 10,
           "Updating 'a' also makes it the most recently used, so 'b' is evicted, not 'a'.")
    expect("get('b')", cache.get("b"), None, "'b' was the least recently used key.")


def check_own_work(ns: dict) -> None:
    """SessionCache is your own, not the library's LRUCache"""
    assert_own_lru(_cache_class(ns))


def check_like_reference(ns: dict) -> None:
    """random sequences of get and put at capacities 1 and 2 behave like a reference LRU"""
    assert_matches_reference_lru(_cache_class(ns), seed=0, sequences=30, capacities=(1, 2))


def check_constant_work(ns: dict) -> None:
    """get and put do the same work at 25 and at 400 entries (O(1))"""
    assert_constant_work(_cache_class(ns), small=25, large=400)


def check_no_list_scans(ns: dict) -> None:
    """no O(n) list operations in SessionCache's source"""
    import inspect

    cls = _cache_class(ns)
    parts = []
    for value in vars(cls).values():
        try:
            parts.append(inspect.getsource(value))
        except (OSError, TypeError):  # not a function, or no source available
            continue
    source = "\n".join(parts)
    for smell, why in [
        (".remove(", "`list.remove` searches the whole list"),
        (".index(", "`list.index` searches the whole list"),
        ("min(", "`min` over the entries looks at every entry"),
        ("sorted(", "sorting the entries is O(n log n)"),
        (".insert(0", "`list.insert(0, …)` shifts every element"),
        (".pop(0)", "`list.pop(0)` shifts every element"),
    ]:
        expect_true(f"SessionCache source contains `{smell}`", smell not in source,
                    f"{why}, so that operation is O(n). Keep the order in a structure "
                    "that can unlink an entry it already holds a reference to.",
                    expected="no O(n) operations", got=smell)


def session_stream(seed: int = 2, requests: int = 3000) -> list[int]:
    """A skewed stream of session ids (Pareto 1.2, ids 1-60): a few users read far more than the rest."""
    rng = random.Random(seed)
    return [min(int(rng.paretovariate(1.2)), 60) for _ in range(requests)]


def lru_figures(ns: dict) -> list[Figure]:
    """Your SessionCache on a skewed stream: database reads (misses) by capacity, and its work per operation."""
    cls, stream, figures = _cache_class(ns), session_stream(), []
    for capacity in (4, 16, 64):
        cache, misses = cls(capacity), 0
        for key in stream:
            if cache.get(key) is None:
                misses += 1
                cache.put(key, key)
        figures.append(Figure(f"database reads, your LRU of {capacity} sessions", len(stream), misses, "",
                              f"hit ratio {1 - misses / len(stream):.1%}" + (
                                  f"; before: no cache, {len(stream):,} skewed requests" if capacity == 4 else "")))
    small, large = key_work_per_operation(cls, 25), key_work_per_operation(cls, 400)
    figures.append(Figure("work per get/put (key hashes + lines run)", round(small, 1), round(large, 1), "",
                          "before: 25 entries; after: 400 entries (flat: O(1))"))
    return figures


LRU_BASIC = Question(
    id="lru_basic",
    title="An O(1) LRU cache",
    checks=[
        check_own_work,
        check_get_and_put,
        check_evicts_least_recently_used,
        check_get_refreshes_recency,
        check_put_updates,
        check_like_reference,
        check_no_list_scans,
        check_constant_work,
    ],
    figures=lru_figures,
    hints=[
        "Two jobs, two structures: a dict finds an entry by key in O(1); a second structure "
        "remembers the order of use and must move or drop an entry in O(1) too.",
        "A doubly linked list can unlink a node in O(1) if you already hold the node, and the dict "
        "can map each key to its node. The oldest node sits at one end, the newest at the other.",
        "Python has this pair built in: `collections.OrderedDict` with `move_to_end(key)` on every "
        "hit or update and `popitem(last=False)` to evict the oldest. Building the linked list by "
        "hand is the stretch goal.",
    ],
)


# --------------------------------------------------------------------------- hit_ratio


def _hit_ratio(ns: dict):
    fn = ns.get("hit_ratio")
    if fn is None:
        raise NotAttempted("`hit_ratio` isn't defined yet: write the function and run its cell.")
    return fn


def assert_hit_ratio_exact(fn, seed: int, *, requests: int = 3000, capacities=(1, 4, 16, 64)) -> None:
    """A skewed stream of ``requests`` replayed through the reference LRU at each capacity:
    the ratio is a float and exact. Uses the course's LRU, never the learner's."""
    rng = random.Random(seed)
    stream = [min(int(rng.paretovariate(1.2)), 60) for _ in range(requests)]
    for capacity in capacities:
        ref, hits = ReferenceLRU(capacity), 0
        for k in stream:
            if ref.get(k) is None:
                ref.put(k, k)
            else:
                hits += 1
        got = fn(ReferenceLRU(capacity), stream)
        expect_true(f"type of hit_ratio(...) at capacity {capacity}", isinstance(got, float),
                    "Return a float (hits / requests).", expected="float", got=type(got).__name__)
        expect_true(f"hit_ratio(LRU of capacity {capacity}, {requests:,} skewed requests, seed {seed})",
                    abs(got - hits / len(stream)) < 1e-12,
                    "Count a request as a hit when `get` finds the key; after a miss `put(key, key)`.",
                    expected=hits / len(stream), got=got)


class _DictCache:
    """An unbounded cache, so the hit-ratio check does not depend on the learner's LRU."""

    def __init__(self):
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def put(self, key, value):
        self.data[key] = value


def check_hit_ratio_small(ns: dict) -> None:
    """hit_ratio counts hits over requests on a tiny stream"""
    fn = _hit_ratio(ns)
    got = fn(_DictCache(), ["a", "b", "a", "a", "c", "b"])
    expect_true("type of hit_ratio(...)", isinstance(got, float), "Return a float (hits / requests).",
                expected="float", got=type(got).__name__)
    expect("hit_ratio(unbounded cache, ['a','b','a','a','c','b'])", got, 0.5,
           "3 of the 6 requests find their key already cached: 'a', 'a' and 'b' the second time.")


def check_hit_ratio_fills_cache(ns: dict) -> None:
    """a miss puts the key into the cache"""
    fn = _hit_ratio(ns)
    cache = _DictCache()
    fn(cache, ["x", "y"])
    expect("keys in the cache after hit_ratio(cache, ['x', 'y'])", sorted(cache.data), ["x", "y"],
           "After a miss, `put(key, key)` so the next request for that key is a hit.")


def check_hit_ratio_stream(ns: dict) -> None:
    """hit_ratio is exact on a skewed stream at capacities 1, 4 and 16"""
    seed = learner_seed("01_lru", reference=1)  # the learner's own stream (the hidden test: another one)
    assert_hit_ratio_exact(_hit_ratio(ns), seed=seed, requests=500, capacities=(1, 4, 16))


HIT_RATIO = Question(
    id="hit_ratio",
    title="Hit ratio of a request stream",
    checks=[check_hit_ratio_small, check_hit_ratio_fills_cache, check_hit_ratio_stream],
    hints=[
        "Keep one counter of hits; the number of requests is `len(keys)`.",
        "For each key: `cache.get(key)`; if that is `None` it is a miss, so `cache.put(key, key)`; "
        "otherwise add one to the hits.",
        "Return `hits / len(keys)`: in Python 3 `/` already gives a float.",
    ],
)


# --------------------------------------------------------------------------- complexity

#: sha256 of the normalised right answer, so the registry does not spell it out.
_COMPLEXITY_DIGEST = "6b23c0d5f35d1b11f9b683f0b0a617355deb11277d91ae091d399c655b87940d"


def assert_complexity(answer) -> None:
    """The letter names the cost of ``list.remove`` (checked against a digest, not spelled out)."""
    choice = str(answer).strip().upper()
    expect_true("complexity_choice", choice in {"A", "B", "C", "D"}, "Answer with one letter: A, B, C or D.",
                expected="one of 'A', 'B', 'C', 'D'", got=answer)
    right = hashlib.sha256(choice.encode()).hexdigest() == _COMPLEXITY_DIGEST
    # a multiple choice has no "expected" to show without giving the answer away: ask instead
    assert right, (f"{choice!r} is not it. How many entries may `order.remove(key)` look at before it finds "
                   "the key, and what happens to the entries after it?")


def check_complexity(ns: dict) -> None:
    """complexity_choice names the cost of list.remove"""
    if "complexity_choice" not in ns:
        raise NotAttempted("`complexity_choice` isn't set yet: assign a letter such as \"A\".")
    assert_complexity(ns["complexity_choice"])


COMPLEXITY = Question(
    id="complexity",
    title="What a list-based LRU costs",
    checks=[check_complexity],
    hints=[
        "`list.remove(x)` has to find `x` first. Where might it be?",
        "In the worst case the key is at the far end: how many comparisons is that with n entries? "
        "And removing from the middle shifts the entries after it.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [LRU_BASIC, HIT_RATIO, COMPLEXITY]
MODULE = Module(id="01_lru", title="LRU: is it really O(1)?", questions=QUESTIONS)
