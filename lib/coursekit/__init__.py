"""coursekit: the generic toolkit the course notebooks and graders call.

>>> from coursekit import start, check, hint, reveal, progress   # doctest: +SKIP
>>> start("01_lru"); check("lru_basic"); hint("lru_basic"); reveal("lru_basic"); progress()  # doctest: +SKIP

coursekit holds no course: the questions, checks, hints and rubrics come from a content
package (here ``cache_course``) found through the ``coursekit.content`` entry point
(:mod:`coursekit.questions`). ``progress`` is the function ``progress()``; the progress
file and its views live in :mod:`coursekit.progress_store`.
"""

from __future__ import annotations

from .checking import CheckReport, check, hint, progress, reveal, start
from .questions import Mismatch, Module, NotAttempted, Question, expect, expect_true, load_module
from .roleplay import Roleplay
from .rubric_engine import Feedback, Rubric
from .rubrics import get_rubric

__all__ = [
    "CheckReport",
    "Feedback",
    "Mismatch",
    "Module",
    "NotAttempted",
    "Question",
    "Roleplay",
    "Rubric",
    "check",
    "expect",
    "expect_true",
    "get_rubric",
    "hint",
    "load_module",
    "progress",
    "reveal",
    "start",
]
