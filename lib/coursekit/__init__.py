"""coursekit: what the course notebooks and graders call.

>>> from coursekit import start, check, hint, reveal, progress   # doctest: +SKIP
>>> start("01_lru"); check("lru_basic"); hint("lru_basic"); reveal("lru_basic"); progress()  # doctest: +SKIP

``coursekit.progress`` is both the function ``progress()`` and, by attribute, the
``coursekit.progress`` module (``coursekit.progress.print_progress(...)`` works).
"""

from __future__ import annotations

from typing import Any as _Any

from . import progress as _progress_module
from .checking import CheckReport, check, hint, reveal, start
from .checking import progress as _show_progress
from .questions import Mismatch, Module, NotAttempted, Question, expect, expect_true, load_module
from .rubric import Feedback, Rubric
from .roleplay import Roleplay
from .rubrics import get_rubric


class _ProgressEntry:
    """Callable ``progress()`` that also exposes the ``coursekit.progress`` module's names."""

    __doc__ = _show_progress.__doc__

    def __call__(self) -> _Any:
        return _show_progress()

    def __getattr__(self, name: str) -> _Any:
        return getattr(_progress_module, name)

    def __repr__(self) -> str:
        return "<function coursekit.progress>"


progress = _ProgressEntry()

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
