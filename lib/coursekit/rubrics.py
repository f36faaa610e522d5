"""The rubric registry: ``get_rubric(name)`` finds a rubric that a course's content defines.

The engine (rules, analysis, feedback) is :mod:`coursekit.rubric_engine`; the rubrics
themselves belong to a course (this one's are in ``cache_course.rubrics``: ``wip_pr``,
``review_reply``, ``apology``). A content provider lists them in ``RUBRICS``
(see :mod:`coursekit.questions`); :func:`register_rubric` adds one by hand.

>>> from coursekit.rubric_engine import Mentions, Prose, Rubric
>>> with use_rubrics([Rubric("thanks", "Thanks", [Prose(1), Mentions("t", "Thank them?", [[r"thanks"]])])]):
...     get_rubric("thanks").evaluate("Thanks for the careful review of this change.").met
True
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from .questions import providers
from .rubric_engine import Rubric

__all__ = ["all_rubrics", "get_rubric", "register_rubric", "use_rubrics"]

_registered: dict[str, Rubric] = {}
_use_providers = True


def register_rubric(rubric: Rubric) -> Rubric:
    """Register a rubric explicitly (a course without an entry point, or tests)."""
    _registered[rubric.name] = rubric
    return rubric


@contextmanager
def use_rubrics(rubrics: Sequence[Rubric]) -> Iterator[None]:
    """Use exactly ``rubrics`` (no content providers) inside the ``with`` block; for tests."""
    global _use_providers
    saved, saved_use = dict(_registered), _use_providers
    _registered.clear()
    _registered.update({r.name: r for r in rubrics})
    _use_providers = False
    try:
        yield
    finally:
        _registered.clear()
        _registered.update(saved)
        _use_providers = saved_use


def all_rubrics() -> dict[str, Rubric]:
    """Every known rubric by name: the content providers', then registered ones."""
    found: dict[str, Rubric] = {}
    if _use_providers:
        for provider in providers():
            for rubric in getattr(provider, "RUBRICS", ()) or ():
                if isinstance(rubric, Rubric):
                    found.setdefault(rubric.name, rubric)
    found.update(_registered)
    return found


def get_rubric(name: str) -> Rubric:
    """A named rubric (``KeyError`` listing the known names otherwise).

    >>> get_rubric("review_reply").title  # doctest: +SKIP
    'A reply to a code review'
    """
    known = all_rubrics()
    try:
        return known[name]
    except KeyError:
        raise KeyError(f"No rubric {name!r}; known: {', '.join(sorted(known)) or 'none'}") from None
