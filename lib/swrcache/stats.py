"""`CacheStats`: plain integer counters that a cache bumps on its hot path.

>>> s = CacheStats()
>>> s.hits += 3; s.misses += 1
>>> s.hit_ratio
0.75
>>> s.as_dict()["hits"]
3
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

__all__ = ["CacheStats"]


@dataclass(slots=True)
class CacheStats:
    """Counters describing what a cache did.

    Every completed `get` counts exactly once as a hit, a miss or a stale serve, and
    every `get_nowait` that returns a value as a hit (one that raises counts nothing),
    so ``hits + misses + stale_served`` is the number of values served.

    The dataclass fields are the counter schema, the one list of counters: code that
    reports or aggregates counters derives its names with
    ``[f.name for f in dataclasses.fields(CacheStats)]`` (every field an int, default 0),
    rather than keeping a copy.

    - ``hits``: answered from a fresh cached value.
    - ``misses``: no servable value; the caller waited for a load (started or joined).
    - ``stale_served``: answered with a stale value (a refresh runs in the background).
    - ``coalesced``: of the misses, the callers that joined a load already in flight
      (they did not cause a loader call; this is not a hit).
    - ``loads``: loader calls started; ``load_errors``: loader calls that failed
      (including timeouts); ``refresh_timeouts``: loads cut off by ``refresh_timeout``.
    - ``breaker_opens``: times the circuit breaker opened.
    - ``evictions``: entries evicted to stay within capacity.
    - ``early_refreshes``: refreshes started early by XFetch while the value was fresh.

    >>> stats = CacheStats(hits=1)
    >>> stats.snapshot() == stats
    True
    >>> stats.reset(); stats.hits
    0
    """

    hits: int = 0
    misses: int = 0
    stale_served: int = 0
    coalesced: int = 0
    loads: int = 0
    load_errors: int = 0
    refresh_timeouts: int = 0
    breaker_opens: int = 0
    evictions: int = 0
    early_refreshes: int = 0

    @property
    def requests(self) -> int:
        """Values served: ``hits + misses + stale_served``.

        >>> CacheStats(hits=2, misses=1, stale_served=1).requests
        4
        """
        return self.hits + self.misses + self.stale_served

    @property
    def hit_ratio(self) -> float:
        """Share of gets answered from the cache (fresh or stale); 0.0 before any get.

        >>> CacheStats(hits=1, stale_served=1, misses=2).hit_ratio
        0.5
        """
        total = self.requests
        return (self.hits + self.stale_served) / total if total else 0.0

    def snapshot(self) -> "CacheStats":
        """Return an independent copy (to compare before and after).

        >>> a = CacheStats(); b = a.snapshot(); a.hits += 1; b.hits
        0
        """
        return replace(self)

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict.

        >>> sorted(CacheStats().as_dict())[:3]
        ['breaker_opens', 'coalesced', 'early_refreshes']
        """
        return asdict(self)

    def reset(self) -> None:
        """Set every counter back to zero.

        >>> s = CacheStats(loads=4); s.reset(); s.loads
        0
        """
        for f in fields(self):
            setattr(self, f.name, 0)
