"""XFetch: probabilistic early expiration (Vattani, Chierichetti, Lowenstein, VLDB 2015).

A value that took `delta` seconds to compute and expires at `expiry` is recomputed early
when ``now - delta * beta * ln(u) >= expiry`` with ``u`` uniform in (0, 1]. Requests
spread their refreshes ahead of the expiry instead of stampeding at it; ``beta > 1``
refreshes earlier, ``beta = 0`` never early. Slow-to-compute values refresh earlier.

>>> import random
>>> rng = random.Random(7)
>>> should_refresh_early(now=0.0, expiry=100.0, delta=1.0, beta=1.0, rng=rng)
False
>>> should_refresh_early(now=99.99, expiry=100.0, delta=1.0, beta=1.0, rng=rng)
True
"""

from __future__ import annotations

import math
import random

__all__ = ["should_refresh_early"]


def should_refresh_early(now: float, expiry: float, delta: float, beta: float,
                         rng: random.Random) -> bool:
    """Return True if this request should recompute the value before `expiry`.

    >>> import random
    >>> should_refresh_early(50.0, 100.0, 1.0, 0.0, random.Random(0))
    False
    """
    if beta <= 0.0 or delta <= 0.0:
        return now >= expiry
    u = 1.0 - rng.random()  # in (0, 1]: log(u) is finite and <= 0
    return now - delta * beta * math.log(u) >= expiry
