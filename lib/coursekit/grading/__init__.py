"""The CI grading command: ``coursekit grade SUBMISSIONS --out DIR``.

Modules, one job each: ``discover`` (find submissions), ``source`` (instructor
notebooks → roles), ``reconstruct`` (take only the learner's answer cells),
``worker`` + ``kernel_guard`` + ``sandbox`` (execute in isolation: a fresh kernel per question,
its test last, an audit-hook guard inside it), ``protocol`` (the typed Job, Step and Event that
cross the pipe to the worker), ``score``,
``report`` (grades.csv, summary.json), ``feedback`` (HTML), ``gradebook`` (manual grades
from nbgrader's gradebook), ``shard`` (``--shard I/N`` and ``merge``), ``engine`` (the
pipeline, in parallel).

Names are imported lazily so that the per-notebook worker process starts fast.
"""
from __future__ import annotations

__all__ = ["GradingError", "Options", "Outcome", "grade", "merge"]


def __getattr__(name: str):
    if name in ("Options", "Outcome", "grade", "merge"):
        from . import engine

        return getattr(engine, name)
    if name == "GradingError":
        from .errors import GradingError

        return GradingError
    raise AttributeError(name)
