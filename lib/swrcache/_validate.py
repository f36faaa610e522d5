"""Argument checks for `SWRCache` (private): each raises ValueError naming the parameter.

Also turns the scalar breaker and backoff keywords that `SWRCache` still accepts
(``breaker_threshold``, ``breaker_cooldown``, ``backoff_base``, ``backoff_max``,
``backoff_jitter``) into the `CircuitBreaker` and `Backoff` objects it now takes.

>>> check_non_negative("ttl", 2)
2.0
>>> check_positive_or_none("wait_threshold", 0)
Traceback (most recent call last):
...
ValueError: wait_threshold must be a positive number or None, got 0
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from .backoff import Backoff
from .breaker import CircuitBreaker
from .clock import Clock
from .lru import LRUCache

__all__ = ["DEFAULT", "check_non_negative", "check_positive_or_none", "check_int",
           "check_callable", "critical_predicate", "check_store", "breaker_from",
           "backoff_from"]

_BREAKER_KEYS = ("breaker_threshold", "breaker_cooldown")
_BACKOFF_KEYS = ("backoff_base", "backoff_max", "backoff_jitter")


class _Default:
    """The default of `breaker` and `backoff`: a new object per cache, built here."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


#: ``SWRCache(breaker=DEFAULT)``: ``CircuitBreaker(5, 30.0)``; ``backoff=DEFAULT``:
#: ``Backoff(1.0, 60.0, 0.5)`` (each cache gets its own).
DEFAULT: Any = _Default()


def check_non_negative(name: str, value: float) -> float:
    """Return `value` as a float; ValueError unless it is a number >= 0 (NaN is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return float(value)


def check_positive_or_none(name: str, value: float | None) -> float | None:
    """Return `value` as a float (or None); ValueError unless it is None or > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number or None, got {value!r}")
    return float(value)


def check_int(name: str, value: int | None, minimum: int, allow_none: bool = False) -> None:
    """ValueError unless `value` is an int >= `minimum` (or None when `allow_none`).

    >>> check_int("capacity", True, 0)
    Traceback (most recent call last):
    ...
    ValueError: capacity must be an int >= 0, got True
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        hint = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an int >= {minimum}{hint}, got {value!r}")


def check_callable(name: str, value: Any, what: str) -> None:
    """ValueError unless `value` is callable."""
    if not callable(value):
        raise ValueError(f"{name} must be {what}, got {value!r}")


def critical_predicate(is_critical: Any) -> Callable[[Any], bool] | None:
    """``is_critical`` as a predicate: a callable as is, a collection as membership.

    >>> critical_predicate({"alice"})("alice"), critical_predicate(None)
    (True, None)
    """
    if is_critical is None:
        return None
    if callable(is_critical):
        return is_critical  # type: ignore[no-any-return]
    if isinstance(is_critical, Collection):
        return frozenset(is_critical).__contains__
    raise ValueError("is_critical must be a callable, a collection of keys or None")


def check_store(store: Any, capacity: int) -> None:
    """ValueError unless `store` is None or an `LRUCache` of the cache's `capacity`."""
    if store is None:
        return
    if not isinstance(store, LRUCache):
        raise ValueError(f"store must be an LRUCache, got {type(store).__name__}")
    if store.capacity != capacity:
        raise ValueError(f"capacity must match the shared store's capacity "
                         f"({store.capacity}), got {capacity!r}")


def _split_legacy(legacy: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    unknown = sorted(set(legacy) - set(_BREAKER_KEYS) - set(_BACKOFF_KEYS))
    if unknown:
        raise TypeError(f"SWRCache() got an unexpected keyword argument {unknown[0]!r}")
    return ({k: legacy[k] for k in _BREAKER_KEYS if k in legacy},
            {k: legacy[k] for k in _BACKOFF_KEYS if k in legacy})


def breaker_from(breaker: Any, legacy: dict[str, Any],
                 clock: Clock | None = None) -> CircuitBreaker | None:
    """The breaker to use: `breaker`, or one built (reading `clock`) from the legacy keywords.

    >>> breaker_from(DEFAULT, {}).failure_threshold, breaker_from(None, {})
    (5, None)
    >>> breaker_from(DEFAULT, {"breaker_threshold": None}) is None
    True
    """
    old, _ = _split_legacy(legacy)
    if old:
        if breaker is not DEFAULT:
            raise ValueError("pass either breaker= or breaker_threshold/breaker_cooldown, "
                             "not both")
        threshold = old.get("breaker_threshold", 5)
        cooldown = old.get("breaker_cooldown", 30.0)
        check_int("breaker_threshold", threshold, 1, allow_none=True)
        if not check_non_negative("breaker_cooldown", cooldown) > 0:
            raise ValueError(f"breaker_cooldown must be positive, got {cooldown!r}")
        return CircuitBreaker(threshold, cooldown, clock) if threshold is not None else None
    if breaker is DEFAULT:
        return CircuitBreaker(5, 30.0, clock)
    if breaker is not None and not isinstance(breaker, CircuitBreaker):
        raise ValueError(f"breaker must be a CircuitBreaker or None, got {breaker!r}")
    return breaker  # type: ignore[no-any-return]


def backoff_from(backoff: Any, legacy: dict[str, Any]) -> Backoff:
    """The backoff to use: `backoff`, or one built from the legacy keywords.

    >>> backoff_from(DEFAULT, {"backoff_base": 2.0}).base
    2.0
    """
    _, old = _split_legacy(legacy)
    if old:
        if backoff is not DEFAULT:
            raise ValueError("pass either backoff= or backoff_base/backoff_max/"
                             "backoff_jitter, not both")
        return Backoff(old.get("backoff_base", 1.0), old.get("backoff_max", 60.0),
                       old.get("backoff_jitter", 0.5))
    if backoff is DEFAULT:
        return Backoff(1.0, 60.0, 0.5)
    if not isinstance(backoff, Backoff):
        raise ValueError(f"backoff must be a Backoff, got {backoff!r}")
    return backoff  # type: ignore[no-any-return]

