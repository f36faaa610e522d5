"""The exceptions `SWRCache` raises of its own (the loader's pass through unchanged).

>>> issubclass(WouldBlock, KeyError), issubclass(CircuitOpenError, RuntimeError)
(True, True)
"""

from __future__ import annotations

from .breaker import CircuitOpenError

__all__ = ["CircuitOpenError", "WouldBlock"]


class WouldBlock(KeyError):
    """Raised by `SWRCache.get_nowait` when no fresh value is stored for the key.

    The key is missing, stale or past its stale window: answering would take a load or
    a refresh, which only ``await cache.get(key)`` does. A `KeyError` (its argument is
    the key), so code that treats the cache as a mapping can catch that.

    >>> try:
    ...     raise WouldBlock("user:7")
    ... except KeyError as exc:
    ...     exc.args
    ('user:7',)
    """
