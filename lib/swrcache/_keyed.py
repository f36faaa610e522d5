"""`SWRCache` for namespaced keys or XFetch (private): the hit paths that do more.

``SWRCache(...)`` returns one of these when ``namespace`` or ``early_refresh_beta`` is
set, so that the plain cache's hit paths are a lookup, a freshness compare, a recency
mark and a counter, with no test for the rarer configurations. It behaves as
`SWRCache` and reports as one.

>>> import asyncio
>>> from swrcache import SWRCache
>>> async def load(key):
...     return key
>>> async def main():
...     cache = SWRCache(load, capacity=10, ttl=5.0, stale_ttl=5.0, namespace="v2")
...     await cache.get("k")
...     return type(cache).__name__, isinstance(cache, SWRCache), cache.get_nowait("k")
>>> asyncio.run(main())
('SWRCache', True, 'k')
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import WouldBlock
from .swr import SWRCache

__all__ = ["keyed_variant"]


class _KeyedSWRCache(SWRCache[Any, Any]):
    """`SWRCache` with a ``namespace`` or XFetch (see `SWRCache` for everything)."""

    __slots__ = ()

    async def get(self, key: Any) -> Any:
        skey = key if self._namespace is None else (self._namespace, key)
        if not self._xfetch:
            now = self._cached_now
            if now is None:
                now = self._now()  # before the lookup: binding to a new loop may drop entries
            entry = self._data.get(skey)
            if entry is not None and now < entry.fresh_until:
                self._touch(skey)
                self.stats.hits += 1
                return entry.value
        return await self._get_slow(key, skey)

    def get_nowait(self, key: Any) -> Any:
        skey = key if self._namespace is None else (self._namespace, key)
        if not self._xfetch:
            now = self._cached_now
            if now is None:
                now = self._now()
            entry = self._data.get(skey)
            if entry is not None and now < entry.fresh_until:
                self._touch(skey)
                self.stats.hits += 1
                return entry.value
            raise WouldBlock(key)
        now = self._read_clock()
        entry = self._data.get(skey)
        if entry is None or not now < entry.fresh_until:
            raise WouldBlock(key)
        self._count_hit(key, skey, entry, now)  # (XFetch may start an early refresh)
        return entry.value

    get.__doc__ = SWRCache.get.__doc__
    get_nowait.__doc__ = SWRCache.get_nowait.__doc__


# Reports as SWRCache (simulation labels use the class name); __module__ tells them apart.
_KeyedSWRCache.__name__ = _KeyedSWRCache.__qualname__ = "SWRCache"


@functools.cache
def keyed_variant(cls: type[SWRCache[Any, Any]]) -> type[SWRCache[Any, Any]]:
    """The class a ``cls(...)`` with a namespace or XFetch becomes: `_KeyedSWRCache` for
    `SWRCache`; for a subclass, one that puts `_KeyedSWRCache`'s hit paths after the
    subclass's own methods (so its overrides still win).

    >>> class Mine(SWRCache):
    ...     pass
    >>> keyed_variant(SWRCache).__name__, keyed_variant(Mine).__mro__[1:3] == (Mine, _KeyedSWRCache)
    ('SWRCache', True)
    """
    if issubclass(cls, _KeyedSWRCache):
        return cls
    if cls is SWRCache:
        return _KeyedSWRCache
    return type(cls.__name__, (cls, _KeyedSWRCache),
                {"__slots__": (), "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                 "__doc__": cls.__doc__})
