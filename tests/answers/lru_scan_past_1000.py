# A wrong 01_lru answer: O(1) while the cache is small, but past 1,000 entries it evicts by
# scanning every entry for the oldest (O(n)). The visible check (25 and 400 entries) cannot see
# it and does not claim to; the hidden test (50 and 2,000 entries) catches it.
from collections import OrderedDict


class SessionCache:
    def __init__(self, capacity):
        self.capacity, self.data, self.stamp, self.tick = capacity, OrderedDict(), {}, 0

    def get(self, key, default=None):
        if key not in self.data:
            return default
        self.tick += 1
        self.stamp[key] = self.tick
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        self.tick += 1
        if key in self.data:
            self.data.move_to_end(key)
        elif len(self.data) >= self.capacity:
            if self.capacity > 1000:  # "big caches are rare": a plain scan for the oldest
                oldest = None
                for k in self.data:
                    if oldest is None or self.stamp[k] < self.stamp[oldest]:
                        oldest = k
            else:
                oldest = next(iter(self.data))
            del self.data[oldest]
            del self.stamp[oldest]
        self.data[key] = value
        self.stamp[key] = self.tick

    def __len__(self):
        return len(self.data)
