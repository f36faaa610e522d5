# A wrong 01_lru answer: recency in a deque, a key found by comparing it with every entry (O(n));
# it passes every visible check and only the hidden O(1) test catches it.
from collections import deque

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
