"""Module 02 · The stampede: singleflight, stale-while-revalidate, the benchmarks, a reply.

The lab bench (`run_stampede`, `NaiveCache`, `TTL`…) is in :mod:`.lab`; each question lives
once in its own file (`singleflight.py`, `swr.py`, `benchmark.py`): its assertion helpers
(`assert_…`, taking a seed), the visible checks that call them, its hints. This file ends with
the module's ordered list of questions. The hidden tests in `course/02_stampede.py` call the
same helpers with other seeds.

A question's points depend on that question only: helpers for `swr` and `benchmark` run the
learner's class with the course's reference `Singleflight` (and, for the benchmark, the
reference stale-while-revalidate), through `reference_parts`.
"""

from __future__ import annotations

from coursekit.questions import Module, Question

from ..lab import NBGRADER_STUB, require_finished
from .lab import (
    POOL_SIZE,
    STALE_TTL,
    TTL,
    DraftCache,
    NaiveCache,
    connection_pool,
    run_stampede,
    stampede_database,
    stampede_workload,
)
from .benchmark import BENCHMARK
from .singleflight import SINGLEFLIGHT
from .swr import SWR

__all__ = [
    "POOL_SIZE", "QUESTIONS", "MODULE", "STALE_TTL", "TTL", "DraftCache", "NaiveCache", "connection_pool",
    "require_finished", "run_stampede", "stampede_database", "stampede_workload",
]

# --------------------------------------------------------------------------- review_reply (written)

REVIEW_REPLY = Question(
    id="review_reply",
    title="Reply to the first review",
    kind="reflect",
    rubric="review_reply",
    answer="review_reply",
    placeholder=NBGRADER_STUB,
    hints=[
        "Start with the reviewer, not with yourself: one sentence that shows you heard both questions.",
        "Two refreshes racing: what does your singleflight do with the second one? Say it in a sentence.",
        "Give them a number to hold you to: DB calls and p99 before and after, from your table, with units.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [SINGLEFLIGHT, SWR, BENCHMARK, REVIEW_REPLY]
MODULE = Module(id="02_stampede", title="The stampede", questions=QUESTIONS)
