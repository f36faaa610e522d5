# A wrong 01_lru answer: evicts the oldest insertion, so get() refreshes nothing (visible checks catch it).
class SessionCache:
    def __init__(self, capacity):
        self.capacity, self.data = capacity, {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def put(self, key, value):
        if key not in self.data and len(self.data) >= self.capacity:
            del self.data[next(iter(self.data))]
        self.data[key] = value

    def __len__(self):
        return len(self.data)
