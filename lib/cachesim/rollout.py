"""A feature flag with a percentage rollout, through OpenFeature's Python SDK.

Why OpenFeature: it is the CNCF's vendor-neutral flag API, so the code a learner writes
against `client.get_string_value(...)` stays the same when the in-memory provider used
here is swapped for LaunchDarkly, Flagsmith, flagd or Unleash in production.

Bucketing is sticky: a user's bucket is a stable hash of the flag key (plus an optional
`salt`) and the user id, into 10,000 buckets; the user is in the rollout while its bucket
is below ``percent * 100``. As the percentage grows (1% -> 5% -> 25% -> 100%) users only
ever join the rollout, never leave it; rolling back sends everyone to the old variant.

OpenFeature's API is global state. A `Rollout` binds its provider to a domain of its own
(``cachesim-rollout-<flag>-<n>``) and, used as a context manager, restores whatever that
domain had before, so simulations and tests do not leak flags into each other.

>>> users = [f"user:{i}" for i in range(2000)]
>>> with Rollout("new-session-cache", stages=(1, 5, 25, 100)) as flag:
...     _ = flag.advance()                                  # 0% -> 1%
...     early = {u for u in users if flag.variant(u) == "canary"}
...     _ = flag.advance(), flag.advance()                  # -> 5% -> 25%
...     later = {u for u in users if flag.variant(u) == "canary"}
>>> flag.percent, early <= later, 10 < len(early) < 40, 400 < len(later) < 600
(25.0, True, True, True)
"""

from __future__ import annotations

import itertools
from typing import Any, Hashable, Sequence

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import FeatureProvider
from openfeature.provider._registry import provider_registry
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider
from openfeature.provider.no_op_provider import NoOpProvider

from .fleet import Call, stable_hash

__all__ = ["Rollout", "BUCKETS", "bucket_of"]

#: Number of rollout buckets: a percentage has a resolution of 0.01%.
BUCKETS = 10_000

_domains = itertools.count(1)


def bucket_of(flag_key: str, user: Hashable, salt: str = "") -> int:
    """The user's bucket for `flag_key`, in [0, BUCKETS): stable across processes and runs.

    >>> bucket_of("f", "user:1") == bucket_of("f", "user:1"), 0 <= bucket_of("f", "u") < BUCKETS
    (True, True)
    """
    return stable_hash("rollout", flag_key, salt, user) % BUCKETS


class Rollout:
    """A string flag `flag_key` with variants `on` (the new cache) and `off` (the old one),
    served to ``percent`` of users by sticky bucketing.

    Args:
        flag_key: the flag's name.
        stages: percentages to move through with `advance` (increasing, each in [0, 100]).
        on / off: the variant (cohort) names for users inside / outside the rollout.
        salt: mixed into the bucket hash (a new experiment reshuffles who is early).
        percent: the starting percentage (default: 0 — nobody until the first `advance`;
            `advance` then moves to ``stages[0]``).
        domain: the OpenFeature domain to bind (default: a fresh one per Rollout).

    Raises:
        ValueError: stages not increasing or outside [0, 100]; percent outside [0, 100].
    """

    def __init__(self, flag_key: str = "new-session-cache", stages: Sequence[float] = (1, 5, 25, 100), *,
                 on: str = "canary", off: str = "control", salt: str = "", percent: float = 0.0,
                 domain: str | None = None) -> None:
        stages = [float(s) for s in stages]
        if any(not 0 <= s <= 100 for s in stages) or any(b <= a for a, b in zip(stages, stages[1:])):
            raise ValueError(f"stages must be increasing percentages in [0, 100], got {stages!r}")
        if not 0 <= percent <= 100:
            raise ValueError(f"percent must be in [0, 100], got {percent!r}")
        self.flag_key, self.stages, self.on, self.off, self.salt = flag_key, tuple(stages), on, off, salt
        self.percent = float(percent)
        self.stage = -1  # index into stages; -1: before the first stage
        self.domain = domain or f"cachesim-rollout-{flag_key}-{next(_domains)}"
        self.history: list[tuple[float | None, float]] = []  # (virtual time or None, percent)
        self.evaluations = 0  # OpenFeature evaluations (assign memoises per user and stage)
        self._memo: dict[Hashable, str] = {}
        self._previous: FeatureProvider | None = None
        self._installed = False
        self.provider = InMemoryProvider({flag_key: InMemoryFlag(
            default_variant="off", variants={"on": on, "off": off}, context_evaluator=self._evaluate)})
        self.client = api.get_client(domain=self.domain)

    # -- OpenFeature -------------------------------------------------------------------
    def _evaluate(self, flag: InMemoryFlag, ctx: EvaluationContext) -> FlagResolutionDetails:
        user = ctx.targeting_key
        if user is None:
            return FlagResolutionDetails(value=flag.variants["off"], variant="off", reason=Reason.DEFAULT)
        inside = bucket_of(self.flag_key, user, self.salt) < self.percent * (BUCKETS / 100)
        v = "on" if inside else "off"
        return FlagResolutionDetails(value=flag.variants[v], variant=v, reason=Reason.TARGETING_MATCH)

    def install(self) -> "Rollout":
        """Bind this flag's provider to its domain (remembering what was there). Idempotent."""
        if not self._installed:
            bound = provider_registry.get_provider(self.domain)
            self._previous = None if bound is provider_registry.get_default_provider() else bound
            api.set_provider(self.provider, domain=self.domain)
            self._installed = True
        return self

    def uninstall(self) -> None:
        """Put back the domain's previous provider (or a no-op provider if it had none)."""
        if self._installed:
            api.set_provider(self._previous if self._previous is not None else NoOpProvider(), domain=self.domain)
            self._installed = False

    def __enter__(self) -> "Rollout":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def variant(self, user: Hashable) -> str:
        """Evaluate the flag for `user` through the OpenFeature client (installs if needed)."""
        self.install()
        self.evaluations += 1
        return self.client.get_string_value(self.flag_key, self.off, EvaluationContext(targeting_key=str(user)))

    def in_rollout(self, user: Hashable) -> bool:
        """True if `user` gets the new variant at the current percentage."""
        return self.variant(user) == self.on

    # -- stages --------------------------------------------------------------------------
    def set_percent(self, percent: float, at: float | None = None) -> None:
        """Serve the new variant to `percent` of users from now on (0 is a full rollback).

        Raises:
            ValueError: percent outside [0, 100].
        """
        if not 0 <= percent <= 100:
            raise ValueError(f"percent must be in [0, 100], got {percent!r}")
        self.percent = float(percent)
        self._memo.clear()
        self.history.append((at, self.percent))

    def advance(self, at: float | None = None) -> float:
        """Move to the next stage; returns the new percentage (stays at the last one)."""
        self.stage = min(self.stage + 1, len(self.stages) - 1)
        self.set_percent(self.stages[self.stage], at)
        return self.percent

    def rollback(self, at: float | None = None) -> None:
        """Everyone back to the old variant (percent 0); stages start over."""
        self.stage = -1
        self.set_percent(0.0, at)

    def assign(self, user: Hashable, server: int, t: float) -> str:
        """A `Fleet` assign function: the flag's variant for `user` (memoised until the
        percentage changes, as real SDKs cache evaluations)."""
        v = self._memo.get(user)
        if v is None:
            v = self._memo[user] = self.variant(user)
        return v

    def schedule(self, times: Sequence[float]) -> list[Call]:
        """`Fleet` events that `advance` one stage at each virtual time in `times`."""
        return [Call(t, lambda ctl: self.advance(ctl.now()), label=f"rollout advance #{i + 1}")
                for i, t in enumerate(times)]

    def rollback_at(self, t: float) -> Call:
        """A `Fleet` event that rolls back at virtual time `t`."""
        return Call(t, lambda ctl: self.rollback(ctl.now()), label="rollout rollback")

    def __repr__(self) -> str:
        return f"Rollout({self.flag_key!r}, percent={self.percent:g}, stages={self.stages}, domain={self.domain!r})"

    def cohort_fraction(self, users: Sequence[Any]) -> float:
        """Fraction of `users` in the rollout now (by bucket; no evaluation counted)."""
        if not users:
            return 0.0
        cut = self.percent * (BUCKETS / 100)
        return sum(bucket_of(self.flag_key, u, self.salt) < cut for u in users) / len(users)
