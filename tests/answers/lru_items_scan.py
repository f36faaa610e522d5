# A wrong 01_lru answer: right behaviour, but eviction scans the dict's items in a Python loop,
# so it is O(n); it passes every visible check and only the hidden O(1) test catches it.
class SessionCache:
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
