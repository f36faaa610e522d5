from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from swrcache import LRUCache


def test_is_a_mutable_mapping():
    c = LRUCache(3)
    assert isinstance(c, MutableMapping)
    c.update({"a": 1, "b": 2})
    assert dict(c.items()) == {"a": 1, "b": 2}
    assert c.pop("a") == 1
    assert c.setdefault("z", 9) == 9
    assert len(c) == 2


def test_getitem_and_get_refresh_recency_but_contains_does_not():
    c = LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    assert c["a"] == 1  # a is now most recent
    c["c"] = 3
    assert list(c) == ["a", "c"]
    assert c.get("a") == 1
    c["d"] = 4
    assert list(c) == ["a", "d"]
    assert "d" in c and "a" in c  # `in` does not refresh
    c["e"] = 5
    assert list(c) == ["d", "e"]
    assert c.evictions == 3


def test_peek_does_not_refresh_and_get_default():
    c = LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    assert c.peek("a") == 1
    c["c"] = 3
    assert "a" not in c
    assert c.get("missing", "dflt") == "dflt"
    assert c.get("missing") is None
    with pytest.raises(KeyError):
        c["missing"]


def test_overwrite_refreshes_and_does_not_evict():
    c = LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    c["a"] = 10
    assert c.evictions == 0
    c["c"] = 3
    assert dict(c) == {"a": 10, "c": 3}
    assert c.oldest() == "a"


def test_capacity_zero_stores_nothing():
    c = LRUCache(0)
    c["a"] = 1
    assert len(c) == 0 and "a" not in c and c.get("a") is None
    assert c.evictions == 1


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_invalid_capacity(bad):
    with pytest.raises(ValueError, match="capacity"):
        LRUCache(bad)


def test_delete_clear_and_repr():
    c = LRUCache(2)
    c["a"] = 1
    del c["a"]
    with pytest.raises(KeyError):
        del c["a"]
    c["b"] = 2
    assert "LRUCache(capacity=2" in repr(c)
    c.clear()
    assert len(c) == 0 and c.evictions == 0
    with pytest.raises(KeyError):
        c.oldest()


class LRUModel(RuleBasedStateMachine):
    """LRUCache against a list-based model (most recent last)."""

    def __init__(self) -> None:
        super().__init__()
        self.capacity = 0
        self.cache: LRUCache[int, int] | None = None
        self.model: list[tuple[int, int]] = []
        self.evictions = 0

    @precondition(lambda self: self.cache is None)
    @rule(capacity=st.integers(min_value=0, max_value=5))
    def create(self, capacity):
        self.capacity = capacity
        self.cache = LRUCache(capacity)

    def _find(self, key):
        for i, (k, _) in enumerate(self.model):
            if k == key:
                return i
        return None

    @precondition(lambda self: self.cache is not None)
    @rule(key=st.integers(0, 8), value=st.integers())
    def put(self, key, value):
        self.cache[key] = value
        i = self._find(key)
        if i is not None:
            self.model.pop(i)
            self.model.append((key, value))
        elif self.capacity == 0:
            self.evictions += 1
        else:
            self.model.append((key, value))
            if len(self.model) > self.capacity:
                self.model.pop(0)
                self.evictions += 1

    @precondition(lambda self: self.cache is not None)
    @rule(key=st.integers(0, 8), use_get=st.booleans())
    def read(self, key, use_get):
        i = self._find(key)
        if use_get:
            got = self.cache.get(key, "absent")
        else:
            try:
                got = self.cache[key]
            except KeyError:
                got = "absent"
        if i is None:
            assert got == "absent"
        else:
            k, v = self.model.pop(i)
            self.model.append((k, v))
            assert got == v

    @precondition(lambda self: self.cache is not None)
    @rule(key=st.integers(0, 8))
    def contains_and_peek(self, key):
        i = self._find(key)
        assert (key in self.cache) == (i is not None)
        assert self.cache.peek(key, "absent") == ("absent" if i is None else self.model[i][1])

    @precondition(lambda self: self.cache is not None)
    @rule(key=st.integers(0, 8))
    def delete(self, key):
        i = self._find(key)
        if i is None:
            with pytest.raises(KeyError):
                del self.cache[key]
        else:
            del self.cache[key]
            self.model.pop(i)

    @invariant()
    def same_contents_in_recency_order(self):
        if self.cache is None:
            return
        assert list(self.cache.items()) == self.model
        assert len(self.cache) <= self.capacity
        assert self.cache.evictions == self.evictions


TestLRUModel = LRUModel.TestCase
TestLRUModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None,
                                 derandomize=True, database=None)


def test_ordereddict_reference_sanity():
    # The model's notion of LRU matches OrderedDict move_to_end semantics.
    od = OrderedDict(a=1, b=2)
    od.move_to_end("a")
    assert list(od) == ["b", "a"]
