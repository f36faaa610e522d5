"""Module 01 (LRU): the reference passes; O(n) caches that pass every visible check are
caught by the hidden O(1) test, whether the scan runs in C (it compares keys) or in a
Python loop (it runs its body once per entry)."""

from __future__ import annotations

import pytest
from modules_harness import run_question

pytestmark = pytest.mark.slow

MODULE = "01_lru"

# evicts by scanning a dict's items in Python: no key is hashed or compared while it scans
ITEMS_SCAN = """class SessionCache:
    def __init__(self, capacity):
        self.capacity, self.data, self.tick = capacity, {}, 0

    def get(self, key, default=None):
        if key not in self.data:
            return default
        self.tick += 1
        self.data[key] = (self.tick, self.data[key][1])
        return self.data[key][1]

    def put(self, key, value):
        self.tick += 1
        if key not in self.data and len(self.data) >= self.capacity:
            oldest, oldest_tick = None, None
            for k, (t, _) in self.data.items():
                if oldest_tick is None or t < oldest_tick:
                    oldest, oldest_tick = k, t
            del self.data[oldest]
        self.data[key] = (self.tick, value)

    def __len__(self):
        return len(self.data)
"""

# keeps recency in a deque and finds a key by comparing it with every entry
DEQUE_REMOVE = """from collections import deque

class SessionCache:
    def __init__(self, capacity):
        self.capacity, self.data, self.order = capacity, {}, deque()

    def get(self, key, default=None):
        if key not in self.data:
            return default
        del self.order[_pos(self.order, key)]
        self.order.append(key)
        return self.data[key]

    def put(self, key, value):
        if key in self.data:
            del self.order[_pos(self.order, key)]
        elif len(self.data) >= self.capacity:
            del self.data[self.order.popleft()]
        self.order.append(key)
        self.data[key] = value

    def __len__(self):
        return len(self.data)


def _pos(order, key):
    for i, k in enumerate(order):
        if k == key:
            return i
"""


def test_reference_passes():
    out = run_question(MODULE, "lru_basic")
    assert out.visible_passed and out.error is None, repr(out.error)


@pytest.mark.parametrize("answer", [ITEMS_SCAN, DEQUE_REMOVE], ids=["python-items-scan", "deque-linear-search"])
def test_hidden_o1_test_catches_scans_the_visible_check_misses(answer):
    out = run_question(MODULE, "lru_basic", answer)
    assert out.visible_passed, "this answer should look right to the visible checks"
    assert isinstance(out.error, AssertionError), repr(out.error)
    assert "work per operation grows with size" in str(out.error)
