"""`Backoff`: jittered exponential delays between failed attempts.

The n-th consecutive failure waits ``d = min(max_delay, base * 2 ** (n - 1))`` scaled by
a random factor in ``[1 - jitter, 1]`` ("equal jitter" when ``jitter=0.5``), so many
keys or servers that failed together do not retry together. Pass a seeded
``random.Random`` for reproducible delays, or none: `SWRCache` then passes its own
``rng`` to `delay`.

>>> import random
>>> b = Backoff(base=1.0, max_delay=8.0, jitter=0.0, rng=random.Random(0))
>>> [b.delay(n) for n in (1, 2, 3, 4, 5)]
[1.0, 2.0, 4.0, 8.0, 8.0]
>>> jittered = Backoff(base=1.0, max_delay=8.0, jitter=0.5, rng=random.Random(0))
>>> 2.0 <= jittered.delay(3) <= 4.0
True
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Exponential backoff with multiplicative jitter.

    >>> import random
    >>> Backoff(base=0.5, max_delay=4.0, jitter=0.0, rng=random.Random(1)).delay(2)
    1.0
    """

    __slots__ = ("base", "max_delay", "jitter", "rng", "_fallback")

    def __init__(self, base: float = 1.0, max_delay: float = 60.0, jitter: float = 0.5,
                 rng: random.Random | None = None) -> None:
        for name, value in (("backoff_base", base), ("backoff_max", max_delay),
                            ("backoff_jitter", jitter)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if not base > 0:
            raise ValueError(f"backoff_base must be positive, got {base!r}")
        if not max_delay >= base:
            raise ValueError(f"backoff_max must be >= backoff_base, got {max_delay!r}")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"backoff_jitter must be between 0 and 1, got {jitter!r}")
        self.base = float(base)
        self.max_delay = float(max_delay)
        self.jitter = float(jitter)
        #: The jitter's source (None: the `rng` passed to `delay`, else a private one).
        self.rng = rng
        self._fallback: random.Random | None = None

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (failures >= 1).

        The jitter comes from this backoff's own ``rng`` if it has one, else from `rng`
        (a cache passes its own), else from a private unseeded ``random.Random``.

        >>> import random
        >>> Backoff(1.0, 10.0, 0.0, random.Random(0)).delay(1)
        1.0
        """
        exponent = min(max(failures, 1) - 1, 62)
        d = min(self.max_delay, self.base * (2.0 ** exponent))
        if self.jitter:
            source = self.rng if self.rng is not None else rng
            if source is None:
                if self._fallback is None:
                    self._fallback = random.Random()
                source = self._fallback
            d *= 1.0 - self.jitter * source.random()
        return d

    def __repr__(self) -> str:
        return f"Backoff(base={self.base}, max_delay={self.max_delay}, jitter={self.jitter})"
