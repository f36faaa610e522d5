"""Question `bucketing` (module 05): sticky percentage rollout — helpers, visible checks, hints."""

from __future__ import annotations

import math
import re

from coursekit.questions import Question, expect, expect_true

from ..lab import _code_only, _source_of, need as _need
from .lab import names_used, rollout_users

#: Buckets of the rollout (a percentage has a resolution of 0.01%).
BUCKETS = 10_000
FLAG = "new-session-cache"
_BUILTIN_HASH = re.compile(r"(?<![\w.])hash\s*\(")


def _fns(ns: dict):
    return _need(ns, "bucket_of", "function"), _need(ns, "in_rollout", "function")


def assert_no_process_hash(bucket_of) -> None:
    """The bucket does not come from Python's built-in `hash()` (salted per process for strings)."""
    code = _code_only(_source_of(bucket_of))
    uses = bool(_BUILTIN_HASH.search(code)) or ("hash" in names_used(bucket_of) and "hash" not in bucket_of.__globals__)
    expect_true("bucket_of uses a hash that is the same in every process", not uses,
                "Python's built-in `hash()` of a string changes from one process to the next (PYTHONHASHSEED), "
                "so every app server and every restart would put a user in a different bucket. Use a "
                "cryptographic digest: `hashlib.sha256(f\"{flag_key}:{user}\".encode()).digest()`.",
                expected="hashlib (or another stable hash)", got="hash(...)")


def assert_buckets(bucket_of, seed: int) -> None:
    """Buckets are ints in [0, 10000), the same on every call, spread evenly."""
    users = rollout_users(seed, 4000)
    first = [bucket_of(FLAG, u) for u in users]
    bad = [b for b in first if not (isinstance(b, int) and not isinstance(b, bool) and 0 <= b < BUCKETS)]
    expect("buckets outside range(10000) or not ints", bad[:3], [],
           "Return an int in [0, 10000): take the digest as an integer, then `% 10_000`.")
    again = [bucket_of(FLAG, u) for u in users[:200]]
    expect("bucket_of called twice for the same users", again, first[:200],
           "A user's bucket must depend only on the flag key and the user id — no randomness, no state.")
    low = sum(b < BUCKETS // 10 for b in first) / len(first)
    expect_true(f"share of {len(users)} users in the lowest 10% of buckets (seed {seed})", 0.07 <= low <= 0.13,
                "The buckets should be spread evenly: about 10% of users in the lowest tenth. Use every byte of "
                "a good digest, not, say, the length of the id.", expected="about 0.10", got=round(low, 3))


def assert_rollout_fraction(in_rollout, seed: int, percents=(1, 5, 25, 50)) -> None:
    """At each percentage, about that share of users is in the rollout."""
    users = rollout_users(seed, 4000)
    n = len(users)
    for pct in percents:
        share = sum(bool(in_rollout(FLAG, u, pct)) for u in users) / n
        p = pct / 100
        tol = 4 * math.sqrt(p * (1 - p) / n) + 0.003
        expect_true(f"share of users in the rollout at {pct}% (seed {seed})", abs(share - p) <= tol,
                    "A user is in the rollout when their bucket is below `percent * 100` (10,000 buckets).",
                    expected=f"{p:.3f} ± {tol:.3f}", got=round(share, 4))


def assert_sticky(in_rollout, seed: int, stages=(0, 1, 5, 25, 50, 100)) -> None:
    """As the percentage grows, users only join: nobody leaves the canary; 0% is nobody, 100% everybody."""
    users = rollout_users(seed, 3000)
    before: set = set()
    for pct in stages:
        now = {u for u in users if in_rollout(FLAG, u, pct)}
        left = sorted(before - now)
        expect(f"users in the canary at the previous stage but not at {pct}% (seed {seed})", left[:3], [],
               "Sticky bucketing: compare the user's fixed bucket with a growing cut-off (`bucket < percent * 100`); "
               "a user who got the new cache keeps it as the rollout grows.")
        before = now
        if pct == 0:
            expect("users in the rollout at 0%", len(now), 0, "0% is a full rollback: nobody.")
        if pct == 100:
            expect("users outside the rollout at 100%", len(users) - len(now), 0, "100% is everybody.")


def assert_flags_independent(in_rollout, seed: int) -> None:
    """Two flags at 20% pick (nearly) independent users: the flag key is part of the hash."""
    users = rollout_users(seed, 4000)
    a = {u for u in users if in_rollout("new-session-cache", u, 20)}
    b = {u for u in users if in_rollout("new-key-schema", u, 20)}
    both = len(a & b) / len(users)
    expect_true(f"share of users early in both of two flags at 20% (seed {seed})", both < 0.08,
                "Mix the flag key into the hash: otherwise the same unlucky 20% of users are the guinea pigs of "
                "every experiment. Independent flags overlap on about 20% x 20% = 4%.",
                expected="about 0.04", got=round(both, 3))


def check_buckets(ns: dict) -> None:
    """bucket_of: a stable int in [0, 10000) from a hash that is the same in every process"""
    bucket_of, _ = _fns(ns)
    assert_no_process_hash(bucket_of)
    assert_buckets(bucket_of, 1)


def check_rollout(ns: dict) -> None:
    """in_rollout: the right share at each stage, sticky as it grows, independent per flag"""
    _, in_rollout = _fns(ns)
    assert_rollout_fraction(in_rollout, 1)
    assert_sticky(in_rollout, 1)
    assert_flags_independent(in_rollout, 1)


BUCKETING = Question(
    id="bucketing",
    title="Sticky percentage rollout",
    checks=[check_buckets, check_rollout],
    hints=[
        "Give each user a fixed number (their bucket) from the flag key and user id; the percentage only "
        "moves the cut-off.",
        "`hashlib.sha256(f\"{flag_key}:{user}\".encode()).digest()` gives the same bytes on every machine; "
        "`int.from_bytes(digest[:8], \"big\") % 10_000` is a bucket.",
        "`in_rollout` is one line: `return bucket_of(flag_key, user) < percent * 100`.",
    ],
)
