"""`CircuitBreaker`: stop calling a failing dependency, then probe it once in a while.

States: **closed** (calls pass; consecutive failures are counted), **open** (calls are
refused until `cooldown` seconds have passed since it opened), **half-open** (exactly
one probe call is let through: success closes the breaker, failure opens it again).

>>> from swrcache.clock import ManualClock
>>> clock = ManualClock()
>>> b = CircuitBreaker(failure_threshold=2, cooldown=10.0, clock=clock)
>>> b.record_failure(), b.record_failure()   # the second failure opens it
(False, True)
>>> b.state, b.allow()
('open', False)
>>> clock.advance(10.0)
>>> b.allow(), b.state, b.allow()            # one probe only
(True, 'half-open', False)
>>> b.record_success(); b.state
'closed'
"""

from __future__ import annotations

from .clock import Clock, loop_time

__all__ = ["CircuitBreaker", "CircuitOpenError", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class CircuitOpenError(RuntimeError):
    """Raised instead of calling the loader while the circuit breaker is open.

    >>> issubclass(CircuitOpenError, RuntimeError)
    True
    """


class CircuitBreaker:
    """Consecutive-failure circuit breaker with a half-open probe.

    `clock` is a zero-argument callable returning seconds; None (the default) reads the
    running event loop's clock. `SWRCache` passes its own reading of the time as `now`
    to every method that needs one, so one breaker can guard several caches (for
    example the ``"v1"`` and ``"v2"`` namespaces of one database). Not thread-safe;
    meant for one event loop.

    Pass it to a cache as ``SWRCache(load, ..., breaker=CircuitBreaker(5, 30.0))``.

    >>> from swrcache.clock import ManualClock
    >>> b = CircuitBreaker(failure_threshold=1, cooldown=1.0, clock=ManualClock())
    >>> b.record_failure(), b.opens
    (True, 1)
    """

    __slots__ = ("failure_threshold", "cooldown", "_clock", "state", "failures",
                 "opened_at", "opens", "_probing")

    def __init__(self, failure_threshold: int = 5, cooldown: float = 30.0,
                 clock: Clock | None = None) -> None:
        if isinstance(failure_threshold, bool) or not isinstance(failure_threshold, int) \
                or failure_threshold < 1:
            raise ValueError(f"failure_threshold must be an int >= 1, got {failure_threshold!r}")
        if isinstance(cooldown, bool) or not isinstance(cooldown, (int, float)) \
                or not cooldown > 0:
            raise ValueError(f"cooldown must be positive, got {cooldown!r}")
        self.failure_threshold = failure_threshold
        self.cooldown = float(cooldown)
        self._clock = clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.opens = 0
        self._probing = False

    def _now(self) -> float:
        return self._clock() if self._clock is not None else loop_time()

    def would_allow(self, now: float | None = None) -> bool:
        """Whether `allow()` would let a call through now, without claiming the probe.

        >>> from swrcache.clock import ManualClock
        >>> CircuitBreaker(1, 1.0, ManualClock()).would_allow()
        True
        """
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            return (self._now() if now is None else now) >= self.opened_at + self.cooldown
        return not self._probing

    def allow(self, now: float | None = None) -> bool:
        """Return True if a call may go ahead now; in half-open, claims the single probe.

        A caller that got True must report the outcome with `record_success`,
        `record_failure` or `abandon`.

        >>> from swrcache.clock import ManualClock
        >>> CircuitBreaker(1, 1.0, ManualClock()).allow()
        True
        """
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if (self._now() if now is None else now) < self.opened_at + self.cooldown:
                return False
            self.state = HALF_OPEN
            self._probing = False
        if self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        """A call succeeded: close the breaker and reset the failure count.

        >>> from swrcache.clock import ManualClock
        >>> b = CircuitBreaker(2, 1.0, ManualClock()); b.record_failure(); b.record_success()
        False
        >>> b.failures
        0
        """
        self.state = CLOSED
        self.failures = 0
        self._probing = False

    def record_failure(self, now: float | None = None) -> bool:
        """A call failed (at `now`, default: read the clock). True if this opened the breaker.

        >>> from swrcache.clock import ManualClock
        >>> CircuitBreaker(3, 1.0, ManualClock()).record_failure()
        False
        """
        self.failures += 1
        if self.state == HALF_OPEN or (self.state == CLOSED
                                       and self.failures >= self.failure_threshold):
            self.state = OPEN
            self.opened_at = self._now() if now is None else now
            self._probing = False
            self.opens += 1
            return True
        return False

    def abandon(self) -> None:
        """A call that was allowed ended without an outcome (cancelled): free the probe.

        >>> from swrcache.clock import ManualClock
        >>> CircuitBreaker(1, 1.0, ManualClock()).abandon()
        """
        self._probing = False

    def __repr__(self) -> str:
        return (f"<CircuitBreaker {self.state} failures={self.failures}"
                f"/{self.failure_threshold} opens={self.opens}>")
