"""Manual grades and comments from nbgrader's gradebook, merged into coursekit's results.

``read_gradebook(path)`` reads nbgrader's ``gradebook.db`` (or the course folder holding it)
with nbgrader's own ``nbgrader.api.Gradebook``, from a private copy made with SQLite's backup
API: the instructor's file is opened read-only and never changed, even while formgrader writes
to it. ``check_gradebook`` refuses a gradebook that does not fit the submissions or the course;
``apply_gradebook`` then sets, for each manual question of each submission nbgrader knows:

* a score given in formgrader -> status ``graded``, that score, the grader's comment;
* no score, and nbgrader's autograde recorded 0 without asking a grader (the answer cell still
  holds the starter text) -> ``not attempted``, 0 — the status coursekit gives it too;
* otherwise -> ``manual`` (not graded yet), no score.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import GradingError
from .score import NOT_ATTEMPTED_MANUAL, NOT_GRADED_YET, ModuleResult
from .source import ModuleSpec

GRADEBOOK_NAME = "gradebook.db"
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: tables every nbgrader gradebook has (nbgrader.api's models)
_TABLES = {"assignment", "notebook", "grade_cells", "solution_cells", "student", "submitted_assignment",
           "submitted_notebook", "grade", "comment"}


@dataclass(frozen=True)
class CellGrade:
    """One grade cell of one learner's submitted notebook, as nbgrader recorded it."""

    max_score: float
    manual_score: float | None  #: given by a person in formgrader (None: nobody did)
    auto_score: float | None  #: nbgrader's autograde (0 for an unchanged answer cell)
    needs_manual_grade: bool
    comment: str  #: the grader's comment ("" if none)


@dataclass
class GradebookData:
    """What coursekit uses of a gradebook: its students, its notebooks' grade cells, the grades."""

    path: str
    students: list[str] = field(default_factory=list)
    cells: dict[str, dict[str, float]] = field(default_factory=dict)  #: module -> grade cell -> max score
    grades: dict[tuple[str, str], dict[str, CellGrade]] = field(default_factory=dict)  #: (learner, module)

    def fingerprint(self) -> str:
        """A digest of the content (not the path): two reads of an unchanged gradebook agree."""
        data = {"students": self.students, "cells": self.cells,
                "grades": sorted([f"{k[0]}/{k[1]}", {n: asdict(g) for n, g in sorted(v.items())}]
                                 for k, v in self.grades.items())}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def gradebook_file(path: str | Path) -> Path:
    """``path`` itself, or ``path/gradebook.db`` for a course folder; raises GradingError if absent."""
    p = Path(path)
    if p.is_dir():
        if not (p / GRADEBOOK_NAME).is_file():
            raise GradingError(f"--gradebook {path}: the folder has no {GRADEBOOK_NAME} (give nbgrader's "
                               "course folder, where `nbgrader autograde` ran, or the gradebook file)")
        return p / GRADEBOOK_NAME
    if not p.is_file():
        raise GradingError(f"--gradebook {path}: no such file or folder")
    return p


def _notebook(assignment, module: str):
    nbs = list(assignment.notebooks)
    named = [nb for nb in nbs if nb.name == module]
    return named[0] if named else (nbs[0] if len(nbs) == 1 else None)


def read_gradebook(path: str | Path) -> GradebookData:
    """Read the students and grades of nbgrader's gradebook at ``path`` (file or course folder).

    Raises:
        GradingError: the path does not exist, or is not an nbgrader gradebook.
    """
    db = gradebook_file(path)
    with open(db, "rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise GradingError(f"--gradebook {path}: {db.name} is not an nbgrader gradebook (not an SQLite file)")
    with tempfile.TemporaryDirectory(prefix="coursekit-gradebook-") as tmp:
        copy = Path(tmp) / GRADEBOOK_NAME
        try:
            src = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
            dst = sqlite3.connect(copy)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        except sqlite3.Error as exc:
            raise GradingError(f"--gradebook {path}: cannot read {db.name}: {exc}") from exc
        from sqlalchemy import create_engine, inspect

        engine = create_engine(f"sqlite:///{copy}")
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        if not _TABLES <= tables:
            raise GradingError(f"--gradebook {path}: {db.name} is an SQLite file but not an nbgrader gradebook "
                               f"(no {', '.join(sorted(_TABLES - tables))} table)")
        return _read(copy, str(path))


def _read(copy: Path, label: str) -> GradebookData:
    from nbgrader.api import Gradebook

    data = GradebookData(label)
    with Gradebook(f"sqlite:///{copy}") as gb:
        data.students = sorted(s.id for s in gb.students)
        for a in gb.assignments:
            nb = _notebook(a, a.name)
            if nb is not None:
                graded = [*nb.grade_cells, *getattr(nb, "task_cells", [])]  # task cells: markdown tasks
                data.cells[a.name] = {c.name: float(c.max_score) for c in graded}
            for sub in a.submissions:
                snb = next((n for n in sub.notebooks if nb is not None and n.name == nb.name), None)
                if snb is None:
                    continue
                comments = {c.name: c.manual_comment or "" for c in snb.comments}
                data.grades[(sub.student.id, a.name)] = {
                    g.name: CellGrade(float(g.max_score), _f(g.manual_score), _f(g.auto_score),
                                      bool(g.needs_manual_grade), comments.get(g.name, ""))
                    for g in snb.grades}
    return data


def _f(x) -> float | None:
    return None if x is None else float(x)


def check_gradebook(data: GradebookData, present: set[tuple[str, str]], specs: dict[str, ModuleSpec]) -> None:
    """Refuse a gradebook that does not fit: ``present`` is every (learner, module) with a notebook.

    Raises:
        GradingError: a gradebook submission of a graded module has no notebook in the submissions
            (wrong folder or gradebook?), or a manual question of the course is not a grade cell of
            the gradebook's notebook, or its points differ (a gradebook of another course version).
    """
    for module, spec in specs.items():
        cells = data.cells.get(module)
        if cells is None:
            continue
        for c in spec.graded:
            if c.role != "manual":
                continue
            if c.grade_id not in cells:
                raise GradingError(f"--gradebook {data.path}: its notebook {module} has no grade cell "
                                   f"{c.grade_id!r} (it has: {', '.join(sorted(cells)) or 'none'}); "
                                   "is it this course's gradebook?")
            if cells[c.grade_id] != c.points:
                raise GradingError(f"--gradebook {data.path}: {module}/{c.grade_id} is worth {cells[c.grade_id]:g} "
                                   f"points there and {c.points:g} in the course source; regenerate the "
                                   "assignment (nbgrader generate_assignment) or grade against its source")
    strays = sorted(f"{learner}/{module}" for learner, module in data.grades
                    if module in specs and (learner, module) not in present)
    if strays:
        raise GradingError(f"--gradebook {data.path}: it holds submissions that SUBMISSIONS has no notebook for: "
                           f"{', '.join(strays[:10])}{' …' if len(strays) > 10 else ''} (learners unknown to the "
                           "submissions; is SUBMISSIONS this course's submitted/ folder?)")


def apply_gradebook(results: list[ModuleResult], data: GradebookData) -> None:
    """Merge the manual grades and comments of ``data`` into ``results`` (in place), as described above."""
    for r in results:
        grades = data.grades.get((r.learner, r.module))
        if r.missing or grades is None:  # nbgrader has not autograded this submission yet
            continue
        for q in r.questions:
            g = grades.get(q.question)
            if not q.manual or g is None:
                continue
            q.comment = g.comment
            if g.manual_score is not None:
                q.status, q.score = "graded", g.manual_score
                q.message = f"Graded by your instructor: {g.manual_score:g} / {q.max:g}."
            elif g.auto_score == 0 and not g.needs_manual_grade:
                q.status, q.score, q.message = "not attempted", 0.0, NOT_ATTEMPTED_MANUAL
            else:
                q.status, q.score, q.message = "manual", None, NOT_GRADED_YET
