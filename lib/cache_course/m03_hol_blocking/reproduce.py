"""Question `reproduce` (module 03): its assertion helpers, visible checks and hints."""

from __future__ import annotations

from coursekit.questions import Question, expect_true

from ..lab import need as _need
from ..variants import learner_seed
from .lab import TTL, WaitingCache, run_hol


# --------------------------------------------------------------------------- reproduce


def assert_reproduce(fn, seed: int) -> None:
    """``hol_p99(seed)`` is the simulated p99 of the waiting cache for that seed (near 2 s)."""
    got = fn(seed)
    ref = run_hol(lambda load: WaitingCache(load, ttl=TTL), seed).p99
    expect_true(f"hol_p99({seed})", isinstance(got, (int, float)) and abs(float(got) - ref) < 1e-9,
                "Run `run_hol(lambda load: WaitingCache(load, ttl=TTL), seed)` and return its `.p99` (seconds). "
                "Use the seed you are given: the hidden tests try others.", expected=round(ref, 6), got=got)
    assert 1.8 <= ref <= 2.0, f"the lab bench's p99 for seed {seed} is {ref:.3f} s, not near 2 s"


def check_reproduce(ns: dict) -> None:
    """hol_p99(seed) is the simulated p99 of the waiting cache, near 2 s"""
    assert_reproduce(_need(ns, "hol_p99", "function"), learner_seed("03_hol_blocking", reference=5))


REPRODUCE = Question(
    id="reproduce",
    title="Reproduce the blunt review: p99 near 2 s",
    checks=[check_reproduce],
    hints=[
        "The lab bench has it all: `run_hol(make_cache, seed)` and `WaitingCache`.",
        "`run_hol(lambda load: WaitingCache(load, ttl=TTL), seed).p99`",
    ],
)
