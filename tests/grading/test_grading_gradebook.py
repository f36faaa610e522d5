"""``coursekit grade --gradebook``: formgrader's manual grades and comments, read from a real
nbgrader gradebook (written here with ``nbgrader.api``), in grades.csv, summary.json and the feedback."""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

import grading_course as fc
from coursekit.grading.errors import GradingError
from coursekit.grading.gradebook import apply_gradebook, check_gradebook, read_gradebook
from coursekit.grading.score import ModuleResult, Question
from coursekit.grading.source import load_sources
from grading_helpers import run_cli

COMMENT = "Good draft. What is not done yet? Say it before the reviewer asks."
EDITED = 'reflection = """Sharing this early: LRU done, tests cover the happy path only."""'


def make_gradebook(folder: Path, specs) -> Path:
    """A gradebook as nbgrader leaves it after `autograde` and a formgrader session on 00_basics:
    alice graded by hand (1.5 and a comment), bob's untouched answer auto-zeroed, carol waiting,
    dana on the roster with no submission."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs alembic
    from nbgrader.api import Gradebook

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "gradebook.db"
    with Gradebook(f"sqlite:///{db}", course_id="cache-under-pressure") as gb:
        for module in ("00_basics", "01_extra"):
            gb.add_assignment(module)
            gb.add_notebook(module, module)
            for c in specs[module].graded:
                gb.add_grade_cell(c.grade_id, module, module, max_score=c.points, cell_type="code")
                if c.role == "manual":
                    gb.add_solution_cell(c.grade_id, module, module)
        for learner in ("alice", "bob", "carol", "dana"):
            gb.add_student(learner)
        for learner in ("alice", "bob", "carol"):
            gb.add_submission("00_basics", learner)
        grade = gb.find_grade("reflection", "00_basics", "00_basics", "alice")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.find_comment("reflection", "00_basics", "00_basics", "alice").manual_comment = COMMENT
        grade = gb.find_grade("reflection", "00_basics", "00_basics", "bob")  # what autograde does to starter text
        grade.auto_score, grade.needs_manual_grade = 0.0, False
        gb.db.commit()
    return db


@pytest.fixture(scope="module")
def specs():
    return load_sources(fc.SOURCE)


@pytest.fixture(scope="module")
def course(tmp_path_factory, specs):
    root = tmp_path_factory.mktemp("course")
    make_gradebook(root, specs)
    return root


def _result(learner: str, status: str = "manual", score=None) -> ModuleResult:
    return ModuleResult(learner, "00_basics", [Question("test_add", 2, "passed", 2.0),
                                               Question("reflection", 2, status, score, manual=True)], [])


def test_manual_grades_and_comments_are_merged(course):
    book = read_gradebook(course)  # the course folder that holds gradebook.db
    assert book.students == ["alice", "bob", "carol", "dana"]
    results = [_result("alice"), _result("bob"), _result("carol"), _result("eve")]
    apply_gradebook(results, book)
    got = {r.learner: (r.questions[1].status, r.questions[1].score, r.questions[1].comment) for r in results}
    assert got == {"alice": ("graded", 1.5, COMMENT), "bob": ("not attempted", 0.0, ""),
                   "carol": ("manual", None, ""), "eve": ("manual", None, "")}
    assert results[0].questions[0].status == "passed", "autograded questions are coursekit's own"
    assert book.fingerprint() == read_gradebook(course / "gradebook.db").fingerprint()


def test_the_instructors_gradebook_is_read_but_never_written(course):
    db = course / "gradebook.db"
    before = (db.read_bytes(), db.stat().st_mtime_ns)
    read_gradebook(db)
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before


def test_bad_gradebook_paths_are_clear_errors(tmp_path):
    with pytest.raises(GradingError, match="no such file or folder"):
        read_gradebook(tmp_path / "nowhere.db")
    with pytest.raises(GradingError, match="the folder has no gradebook.db"):
        read_gradebook(tmp_path)
    (tmp_path / "notes.db").write_text("alice: 3 points\n")
    with pytest.raises(GradingError, match="not an nbgrader gradebook \\(not an SQLite file\\)"):
        read_gradebook(tmp_path / "notes.db")
    other = sqlite3.connect(tmp_path / "other.db")
    with other:
        other.execute("CREATE TABLE grades (learner TEXT, score REAL)")
    other.close()
    with pytest.raises(GradingError, match="SQLite file but not an nbgrader gradebook \\(no assignment, comment"):
        read_gradebook(tmp_path / "other.db")


def test_a_gradebook_that_does_not_fit_the_submissions_or_the_course_is_refused(course, specs, tmp_path):
    book = read_gradebook(course)
    present = {("alice", "00_basics"), ("bob", "00_basics")}
    with pytest.raises(GradingError, match="submissions that SUBMISSIONS has no notebook for: carol/00_basics"):
        check_gradebook(book, present, specs)
    check_gradebook(book, present | {("carol", "00_basics")}, specs)  # dana submitted nothing: missing, not an error
    book.cells["00_basics"]["reflection"] = 3.0
    with pytest.raises(GradingError, match="00_basics/reflection is worth 3 points there and 2 in the course"):
        check_gradebook(book, present | {("carol", "00_basics")}, specs)
    del book.cells["00_basics"]["reflection"]
    with pytest.raises(GradingError, match="has no grade cell 'reflection'.*this course's gradebook"):
        check_gradebook(book, present | {("carol", "00_basics")}, specs)


@pytest.mark.notebooks
def test_grade_with_the_gradebook_end_to_end(course, tmp_path):
    subs = fc.write_submissions(tmp_path / "submitted", {
        "alice": {"00_basics": fc.with_answers("00_basics", {**fc.SOLVED, "reflection": EDITED})},
        "bob": {"00_basics": fc.exercise_nb("00_basics")},
        "carol": {"00_basics": fc.with_answers("00_basics", {"reflection": EDITED})},
    })
    out = tmp_path / "out"
    r = run_cli("grade", str(subs), "--out", str(out), "--gradebook", str(course), "--source", str(fc.SOURCE),
                "--cell-timeout", "10", "--jobs", "2", "--module", "00_basics")
    assert r.returncode == 0, r.stderr
    rows = {(x["learner"], x["question"]): x for x in csv.DictReader((out / "grades.csv").read_text().splitlines())}
    pick = lambda who: (rows[(who, "reflection")]["score"], rows[(who, "reflection")]["status"])  # noqa: E731
    assert pick("alice") == ("1.5", "graded") and rows[("alice", "reflection")]["comment"] == COMMENT
    assert pick("bob") == ("0", "not attempted"), "nbgrader's auto-zero and coursekit's status agree"
    assert pick("carol") == ("", "manual")
    assert all(rows[("dana", q)]["score"] == "" and rows[("dana", q)]["status"] == "missing"
               for q in ("test_add", "test_mean", "test_simulate", "reflection")), "on the roster, no notebook"
    s = json.loads((out / "summary.json").read_text())
    alice = s["learners"]["alice"]
    assert (alice["score"], alice["manual_score"], alice["total"], alice["total_max"]) == (7.0, 1.5, 8.5, 9.0)
    assert alice["modules"]["00_basics"]["manual"]["reflection"]["comment"] == COMMENT
    assert s["learners"]["carol"]["manual_pending"] == 1 and s["learners"]["bob"]["manual_pending"] == 0
    assert s["learners"]["dana"]["score"] is None and s["missing"] == ["dana/00_basics"]
    page = (out / "feedback" / "alice" / "00_basics.html").read_text()
    assert "Graded by your instructor: 1.5 / 2." in page and "What is not done yet?" in page
    assert "Not graded yet" in (out / "feedback" / "carol" / "00_basics.html").read_text()
    assert not (out / "feedback" / "dana").exists(), "nothing submitted, no feedback page"


def test_grade_refuses_a_path_that_is_not_a_gradebook(tmp_path):
    subs = fc.write_submissions(tmp_path / "s", {"alice": {"01_extra": fc.solution_nb("01_extra")}})
    (tmp_path / "grades.csv").write_text("learner,score\n")
    r = run_cli("grade", str(subs), "--out", str(tmp_path / "out"), "--source", str(fc.SOURCE),
                "--gradebook", str(tmp_path / "grades.csv"))
    assert r.returncode == 2 and "not an nbgrader gradebook" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
