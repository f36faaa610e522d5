"""`LRUCache`: a bounded mapping that evicts the least recently used entry, in O(1).

>>> cache = LRUCache(2)
>>> cache["a"] = 1; cache["b"] = 2
>>> cache["a"]          # reading refreshes recency: "b" is now the oldest
1
>>> cache["c"] = 3      # evicts "b"
>>> list(cache), cache.evictions
(['a', 'c'], 1)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any, Generic, TypeVar, overload

__all__ = ["LRUCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

_MISSING: Any = object()


class LRUCache(MutableMapping[K, V], Generic[K, V]):
    """A `MutableMapping` holding at most `capacity` items, evicting the least recently used.

    - ``cache[key]`` and ``cache.get(key, default)`` refresh the key's recency;
      ``key in cache``, ``len()``, iteration and ``peek()`` do not.
    - Storing a key (new or existing) makes it the most recently used; storing past
      capacity evicts the least recently used key and increments ``evictions``.
    - ``capacity=0`` stores nothing (every store is dropped at once, counted as an eviction).
    - Every operation is O(1). Iteration goes from least to most recently used.

    It is not thread-safe (asyncio code needs no lock: it never yields inside a method).

    >>> c = LRUCache(capacity=1)
    >>> c["x"] = 1
    >>> c.get("y", "default")
    'default'
    >>> c["y"] = 2
    >>> "x" in c, c.evictions
    (False, 1)
    >>> LRUCache(0).__setitem__("k", 1) is None and len(LRUCache(0)) == 0
    True
    """

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise ValueError(f"capacity must be an int, got {capacity!r}")
        if capacity < 0:
            raise ValueError(f"capacity must not be negative, got {capacity!r}")
        self._capacity = capacity
        # Insertion order is recency order: move_to_end (C, O(1)) marks a key as used.
        # (Calling it as self._data.move_to_end(...) lets CPython 3.11 specialize the call;
        # a stored bound method measured slower.)
        self._data: OrderedDict[K, V] = OrderedDict()
        #: How many entries were evicted to respect the capacity.
        self.evictions = 0

    @property
    def capacity(self) -> int:
        """The maximum number of entries (read-only).

        >>> LRUCache(3).capacity
        3
        """
        return self._capacity

    def __getitem__(self, key: K) -> V:
        value = self._data[key]  # raises KeyError for a missing key
        self._data.move_to_end(key)
        return value

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        """Return the value for `key` (refreshing its recency), else `default`.

        >>> c = LRUCache(2); c[1] = "one"
        >>> c.get(1), c.get(2), c.get(2, "none")
        ('one', None, 'none')
        """
        try:
            value = self._data[key]
        except KeyError:
            return default
        self._data.move_to_end(key)
        return value

    def peek(self, key: K, default: Any = None) -> Any:
        """Return the value for `key` without refreshing recency, else `default`.

        >>> c = LRUCache(2); c[1] = 1; c[2] = 2
        >>> c.peek(1); c[3] = 3; 1 in c
        1
        False
        """
        return self._data.get(key, default)

    def __setitem__(self, key: K, value: V) -> None:
        data = self._data
        if key in data:
            data[key] = value
            self._data.move_to_end(key)
            return
        if self._capacity == 0:
            self.evictions += 1
            return
        data[key] = value
        if len(data) > self._capacity:
            data.popitem(last=False)
            self.evictions += 1

    def __delitem__(self, key: K) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    # Views read without refreshing recency (the Mapping mixins would call __getitem__,
    # reordering the dict while it is being iterated).
    def keys(self) -> KeysView[K]:  # type: ignore[override]
        """A live view of the keys, least recently used first.

        >>> c = LRUCache(2); c["a"] = 1; list(c.keys())
        ['a']
        """
        return self._data.keys()

    def values(self) -> ValuesView[V]:  # type: ignore[override]
        """A live view of the values, least recently used first (recency unchanged).

        >>> c = LRUCache(2); c["a"] = 1; list(c.values())
        [1]
        """
        return self._data.values()

    def items(self) -> ItemsView[K, V]:  # type: ignore[override]
        """A live view of the (key, value) pairs, least recently used first.

        >>> c = LRUCache(2); c["a"] = 1; list(c.items())
        [('a', 1)]
        """
        return self._data.items()

    def clear(self) -> None:
        """Remove every entry (not counted as evictions).

        >>> c = LRUCache(2); c[1] = 1; c.clear(); len(c)
        0
        """
        self._data.clear()

    def oldest(self) -> K:
        """Return the least recently used key (the next to be evicted); KeyError if empty.

        >>> c = LRUCache(2); c["a"] = 1; c["b"] = 2; c["a"]; c.oldest()
        1
        'b'
        """
        for key in self._data:
            return key
        raise KeyError("oldest(): cache is empty")

    def __repr__(self) -> str:
        items = ", ".join(f"{k!r}: {v!r}" for k, v in self._data.items())
        return f"LRUCache(capacity={self._capacity}, {{{items}}})"
