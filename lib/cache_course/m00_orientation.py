"""Module 00 · Orientation: the check/hint/reveal loop, the pause, the WIP pull request."""

from __future__ import annotations

import functools

from coursekit.figures import Figure
from coursekit.questions import Module, NotAttempted, Question, expect, expect_true

from .lab import NBGRADER_STUB


def _ttl(ns: dict):
    if "SESSION_TTL_SECONDS" not in ns:
        raise NotAttempted("`SESSION_TTL_SECONDS` isn't defined yet: set it in the answer cell and run that cell.")
    return ns["SESSION_TTL_SECONDS"]


def assert_ttl_is_int(value) -> None:
    """A whole number of seconds (an int, not 900.0 or '900')."""
    expect_true(
        "type(SESSION_TTL_SECONDS)",
        type(value) is int,
        "Use an int (e.g. 60, not 60.0 or '60').",
        expected="int",
        got=type(value).__name__,
    )


def assert_ttl_value(value) -> None:
    """Fifteen minutes in seconds, with advice for minutes and milliseconds."""
    advice = "Fifteen minutes, in seconds."
    if value == 15:
        advice = "That is the number of minutes; the cache counts seconds."
    elif value == 15 * 60 * 1000:
        advice = "That is milliseconds; the cache counts seconds."
    expect("SESSION_TTL_SECONDS", value, 900, advice)


def check_ttl_is_int(ns: dict) -> None:
    """SESSION_TTL_SECONDS is a whole number of seconds"""
    assert_ttl_is_int(_ttl(ns))


def check_ttl_value(ns: dict) -> None:
    """SESSION_TTL_SECONDS is fifteen minutes"""
    assert_ttl_value(_ttl(ns))


@functools.lru_cache(maxsize=4)
def session_reads(ttl_seconds: float, seed: int = 0) -> int:
    """Database reads in an hour of session traffic (5 requests/s over 500 users, Zipf 1.1, 50 ms a
    read) when each session read is cached for ``ttl_seconds`` (0: no cache), in virtual time."""
    from cachesim import LogNormal, SimulatedDatabase, Workload, simulate
    from cachesim.baselines import NaiveCache

    workload = Workload(duration=3600.0, rate=5, keys=500, zipf_s=1.1, seed=seed)
    return simulate(workload, lambda load: NaiveCache(load, ttl=float(ttl_seconds)), progress=False,
                    database=SimulatedDatabase(latency=LogNormal(0.05, 0.3), seed=seed)).db_calls


def warmup_figures(ns: dict) -> list[Figure]:
    """The TTL you set, at work: an hour of session reads without a cache and cached for it."""
    ttl = _ttl(ns)
    return [Figure("database reads, one hour of session traffic", session_reads(0), session_reads(ttl), "",
                   f"before: no cache; after: sessions cached for your SESSION_TTL_SECONDS = {ttl}")]


WARMUP = Question(
    id="warmup",
    title="Warm-up: a session's time to live",
    checks=[check_ttl_is_int, check_ttl_value],
    figures=warmup_figures,
    hints=[
        "How many seconds are in one minute?",
        "Multiply: minutes × seconds per minute. Python can do it for you: `15 * 60`.",
        "`SESSION_TTL_SECONDS = 15 * 60`",
    ],
)

# --------------------------------------------------------------------------- wip_pr (written, graded by hand)

WIP_PR = Question(
    id="wip_pr",
    title="Your WIP pull request description",
    kind="reflect",
    rubric="wip_pr",
    answer="wip_pr",
    placeholder=NBGRADER_STUB,
    hints=[
        "Imagine the reviewer has five minutes. What do they need to know first: what the change does.",
        "Be honest about the gaps: how far do your tests go today, and what haven't you measured?",
        "Ask questions only the reviewer can answer, about this code: the LRU's complexity, "
        "two refreshes racing, whether the new key layout breaks a downstream reader.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [WARMUP, WIP_PR]
MODULE = Module(id="00_orientation", title="Orientation: sharing a draft", questions=QUESTIONS)
