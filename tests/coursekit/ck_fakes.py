"""A small fake course registry and simulated learner code for coursekit's tests."""

from __future__ import annotations

import json
import linecache
from pathlib import Path
from typing import Any

from coursekit.questions import Module, NotAttempted, Question, expect, expect_true


# ---------------------------------------------------------------- checks of the fake module


def check_stores(ns: dict) -> None:
    """stores and returns values"""
    cache = ns["LRUCache"](2)
    cache.put("a", 1)
    expect("get('a') after put('a', 1)", cache.get("a"), 1, advice="get() should return what put() stored.")


def check_evicts_lru(ns: dict) -> None:
    """evicts the least recently used key"""
    cache = ns["LRUCache"](2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")  # 'a' is now the most recently used
    cache.put("c", 3)
    expect(
        "get('b') after get('a') then put('c') into a full cache",
        cache.get("b"),
        None,
        advice="Evict the key used least recently — reading a key counts as using it.",
    )


def check_capacity(ns: dict) -> None:
    """never holds more than its capacity"""
    cache = ns["LRUCache"](3)
    for i in range(10):
        cache.put(i, i)
    expect_true("len(cache) <= 3 after 10 puts", len(cache) <= 3, "Evict before inserting.",
                expected="at most 3", got=len(cache))


def check_ratio(ns: dict) -> None:
    """hit_ratio is a float between 0 and 1"""
    value = ns["hit_ratio"]
    if value is None:
        raise NotAttempted("`hit_ratio` is still None — compute it in the cell above.")
    assert 0.0 <= value <= 1.0, f"hit_ratio should be between 0 and 1, got {value!r}"


FAKE = Module(
    id="90_fake",
    title="A fake LRU module",
    questions=[
        Question(
            id="lru_basic",
            title="An O(1) LRU cache",
            checks=[check_stores, check_evicts_lru, check_capacity],
            hints=[
                "Which key should leave when the cache is full — and what counts as 'using' a key?",
                "You need to find a key and move it to the 'recent' end in O(1): which stdlib mapping keeps order?",
                "collections.OrderedDict: move_to_end(key) on every get and put; popitem(last=False) when full.",
            ],
        ),
        Question(id="ratio", title="Hit ratio", checks=[check_ratio]),
        Question(
            id="pr_text",
            title="Your WIP PR description",
            kind="reflect",
            rubric="wip_pr",
            placeholder="Write your PR description here.",
        ),
    ],
)
OTHER = Module(id="91_other", title="Another module",
               questions=[Question(id="reply", title="Reply to the review", kind="reflect",
                                   rubric="review_reply", answer="review_replies")])


# ---------------------------------------------------------------- learner code


GOOD_LRU = '''\
from collections import OrderedDict

class LRUCache:
    def __init__(self, capacity):
        self.capacity = capacity
        self.data = OrderedDict()

    def get(self, key):
        if key not in self.data:
            return None
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)

    def __len__(self):
        return len(self.data)
'''

FIFO_LRU = GOOD_LRU.replace("        self.data.move_to_end(key)\n        return self.data[key]",
                            "        return self.data[key]")

STUB_LRU = '''\
class LRUCache:
    def __init__(self, capacity):
        # YOUR CODE HERE
        raise NotImplementedError()
'''

CRASHING_LRU = GOOD_LRU.replace("        if key not in self.data:\n            return None",
                                "        if key not in self.data:\n            return None\n        ratio = 1 / 0")

_cell_counter = [0]


def run_cell(source: str, ns: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute ``source`` the way ipykernel does: under a cell file name that linecache knows."""
    ns = {} if ns is None else ns
    _cell_counter[0] += 1
    filename = f"/tmp/ipykernel_4242/{_cell_counter[0]}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), ns)
    return ns


def write_solutions(root: Path, module_id: str, cells: list[dict[str, Any]]) -> Path:
    """A minimal executed solutions notebook with nbgrader metadata."""
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = root / module_id / f"{module_id}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def code_cell(source: str, grade_id: str | None = None, solution: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if grade_id:
        meta["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": False, "locked": False,
                            "schema_version": 3}
    return {"cell_type": "code", "execution_count": 1, "id": grade_id or "x", "metadata": meta,
            "outputs": [], "source": source}


