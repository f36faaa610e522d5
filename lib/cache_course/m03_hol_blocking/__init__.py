"""Module 03 · Head-of-line blocking: wait threshold, refresh slots, breaker + backoff, priority.

The lab bench (`run_hol`, `WaitingCache`, `ResilientCache`…) is in :mod:`.lab`, with
`scenario(seed)`: a learner's seed (`learner_seed`) also picks their hot user and outage window;
every hidden test's seed gets the reference scenario. Each question lives once in its own file (`reproduce.py`, `threshold.py`, `slots.py`, `breaker.py`,
`priority.py`): its assertion helpers (`assert_…`, taking a seed), the visible checks that call
them and its hints. The hidden tests in `course/03_hol_blocking.py` call the same helpers with
other seeds. This file ends with the module's ordered list of questions.
"""

from __future__ import annotations

from coursekit.questions import Module, Question

from ..lab import NBGRADER_STUB, require_finished, require_no_stub_errors, show_source
from .breaker import BREAKER
from .lab import (
    HOT_KEY,
    OUTAGE_AT,
    OUTAGE_SECONDS,
    OUTAGE_STARTS,
    REFRESH_SECONDS,
    STALE_TTL,
    TTL,
    GatedCache,
    ResilientCache,
    Scenario,
    SlottedCache,
    WaitingCache,
    coldstart_database,
    coldstart_workload,
    hol_database,
    hol_workload,
    outage_database,
    outage_verdict,
    outage_workload,
    run_coldstart,
    run_hol,
    run_outage,
    scenario,
)
from .priority import PRIORITY
from .reproduce import REPRODUCE
from .slots import SLOTS
from .threshold import THRESHOLD

__all__ = [
    "HOT_KEY", "MODULE", "OUTAGE_AT", "OUTAGE_SECONDS", "OUTAGE_STARTS", "QUESTIONS", "REFRESH_SECONDS",
    "STALE_TTL", "TTL", "GatedCache", "ResilientCache", "Scenario", "SlottedCache", "WaitingCache", "coldstart_database", "coldstart_workload",
    "hol_database", "hol_workload", "outage_database", "outage_verdict", "outage_workload", "require_finished",
    "require_no_stub_errors", "run_coldstart", "run_hol", "run_outage", "scenario", "show_source",
]

# --------------------------------------------------------------------------- roleplay_replies (written)

ROLEPLAY_REPLIES = Question(
    id="roleplay_replies",
    title="Role-play: the blunt review",
    kind="reflect",
    rubric="review_reply",
    answer="roleplay_replies",
    placeholder=NBGRADER_STUB,
    hints=[
        "Pause first. Then one sentence that shows you heard the point — before any plan.",
        "Restate the concern or ask the one question that sharpens it ('Is it critical users' p99 you "
        "are worried about?').",
        "Name a number to hold yourself to: p99 under 150 ms in the slow-refresh benchmark, DB calls "
        "unchanged — and what you'll change to get there.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [REPRODUCE, THRESHOLD, SLOTS, BREAKER, PRIORITY, ROLEPLAY_REPLIES]
MODULE = Module(id="03_hol_blocking", title="Head-of-line blocking", questions=QUESTIONS)
