"""Module 01 · LRU: an O(1) LRU cache, its hit ratio on a Zipf workload, a complexity question.

The visible checks here are what `check("…")` runs in the notebook (and, again, at the top of
each autograder test cell). The hidden tests live only in `course/01_lru.py`.
"""

from __future__ import annotations

import hashlib

from coursekit.questions import Module, NotAttempted, Question, expect, expect_true


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
    """a full cache evicts the least recently used key"""
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


def check_no_scan(ns: dict) -> None:
    """get and put do not scan the entries (a quick look, not the hidden test)"""
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


def _hit_ratio(ns: dict):
    fn = ns.get("hit_ratio")
    if fn is None:
        raise NotAttempted("`hit_ratio` isn't defined yet: write the function and run its cell.")
    return fn


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


#: sha256 of the normalised right answer, so the registry does not spell it out.
_COMPLEXITY_DIGEST = "6b23c0d5f35d1b11f9b683f0b0a617355deb11277d91ae091d399c655b87940d"


def check_complexity(ns: dict) -> None:
    """complexity_choice names the cost of list.remove"""
    if "complexity_choice" not in ns:
        raise NotAttempted("`complexity_choice` isn't set yet: assign a letter such as \"A\".")
    choice = str(ns["complexity_choice"]).strip().upper()
    expect_true("complexity_choice", choice in {"A", "B", "C", "D"}, "Answer with one letter: A, B, C or D.",
                expected="one of 'A', 'B', 'C', 'D'", got=ns["complexity_choice"])
    right = hashlib.sha256(choice.encode()).hexdigest() == _COMPLEXITY_DIGEST
    # a multiple choice has no "expected" to show without giving the answer away: ask instead
    assert right, (f"{choice!r} is not it. How many entries may `order.remove(key)` look at before it finds "
                   "the key, and what happens to the entries after it?")


MODULE = Module(
    id="01_lru",
    title="LRU: is it really O(1)?",
    questions=[
        Question(
            id="lru_basic",
            title="An O(1) LRU cache",
            checks=[
                check_get_and_put,
                check_evicts_least_recently_used,
                check_get_refreshes_recency,
                check_put_updates,
                check_no_scan,
            ],
            hints=[
                "Two jobs, two structures: a dict finds an entry by key in O(1); a second structure "
                "remembers the order of use and must move or drop an entry in O(1) too.",
                "A doubly linked list can unlink a node in O(1) if you already hold the node, and the dict "
                "can map each key to its node. The oldest node sits at one end, the newest at the other.",
                "Python has this pair built in: `collections.OrderedDict` with `move_to_end(key)` on every "
                "hit or update and `popitem(last=False)` to evict the oldest. Building the linked list by "
                "hand is the stretch goal.",
            ],
        ),
        Question(
            id="hit_ratio",
            title="Hit ratio of a request stream",
            checks=[check_hit_ratio_small, check_hit_ratio_fills_cache],
            hints=[
                "Keep one counter of hits; the number of requests is `len(keys)`.",
                "For each key: `cache.get(key)`; if that is `None` it is a miss, so `cache.put(key, key)`; "
                "otherwise add one to the hits.",
                "Return `hits / len(keys)`: in Python 3 `/` already gives a float.",
            ],
        ),
        Question(
            id="complexity",
            title="What a list-based LRU costs",
            checks=[check_complexity],
            hints=[
                "`list.remove(x)` has to find `x` first. Where might it be?",
                "In the worst case the key is at the far end: how many comparisons is that with n entries? "
                "And removing from the middle shifts the entries after it.",
            ],
        ),
    ],
)
