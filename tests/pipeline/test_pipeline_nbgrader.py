"""The instructor workflow with nbgrader unchanged, end to end in a temp folder:

generate → release → (learner) fetch, fill in, submit → collect → autograde --create →
generate_feedback → export. Solutions score full marks on every autograded cell; untouched
exercises score zero without crashing; feedback never shows hidden-test source, even when a
hidden test fails.
"""

from __future__ import annotations

import csv
import re
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from pipeline_helpers import committed, html_text, read, secret_lines

from coursekit import build

COURSE_ID = "cache-under-pressure"

# A SessionCache that passes every visible check but not the hidden model comparison:
# above capacity 2 it keeps one session fewer than it may.
SUBTLY_WRONG_LRU = '''
from collections import OrderedDict


class SessionCache:
    def __init__(self, capacity):
        self.capacity = capacity if capacity < 3 else capacity - 1
        self.data = OrderedDict()

    def get(self, key, default=None):
        if key not in self.data:
            return default
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        if key in self.data:
            self.data.move_to_end(key)
        elif len(self.data) >= self.capacity:
            self.data.popitem(last=False)
        self.data[key] = value

    def __len__(self):
        return len(self.data)
'''


#: nbgrader's exchange names a submission after the OS account that runs `submit`.
ADA = pwd.getpwuid(os.getuid()).pw_name


def _home(cwd: Path) -> Path:
    home = cwd.parent / "home"  # every nbgrader call runs in a folder directly under tmp_path
    home.mkdir(exist_ok=True)
    return home


def nbgrader(*args: str, cwd: Path, exchange: Path | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    env["PYTHONHASHSEED"] = "0"
    # nbgrader runs the `alembic` command by name: the venv's bin/ must be on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # a home of its own: a progress file shared between learners' kernels would show up there
    env["HOME"] = str(_home(cwd))
    extra = [f"--Exchange.root={exchange}", f"--CourseDirectory.course_id={COURSE_ID}"] if exchange else []
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, *extra], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    print(f"nbgrader {args[0]}: {time.perf_counter() - started:.1f} s")
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "[ERROR]" not in proc.stderr, f"nbgrader {' '.join(args)} logged errors:\n{proc.stderr}"
    return proc


def graded_cells(module_id: str) -> dict[str, dict]:
    nb = build.source_notebook(module_id)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def scores(course: Path, module_id: str, student: str) -> dict[str, tuple[float | None, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(module_id, module_id, student)
        return {g.name: (g.auto_score, g.max_score) for g in sub.grades}


def learner_lines(path: Path) -> set[str]:
    """Stripped lines the learner wrote (every cell except autograder test cells)."""
    nb = read(path)
    return {
        line.strip()
        for cell in nb.cells
        if not (cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution"))
        for line in cell.source.split("\n")
    }


def with_lru(nb: nbformat.NotebookNode, code: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "lru_basic":
            cell.source = code.strip()
    return nb


@pytest.mark.notebooks
@pytest.mark.parametrize("module_id", build.MODULES)
def test_instructor_workflow(module_id, tmp_path):
    course = build.write_instructor_course(tmp_path / "course", [module_id])
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    assert (course / "source" / module_id / f"{module_id}.ipynb").is_file()

    # instructor: generate and release
    nbgrader("generate_assignment", module_id, "--force", cwd=course)
    released = course / "release" / module_id / f"{module_id}.ipynb"
    assert released.read_text() == committed("exercises", module_id).read_text(), "exercises/ differ from release/"
    nbgrader("release_assignment", module_id, "--force", cwd=course, exchange=exchange)

    # learner ADA (the OS account) hands in the reference solution. For 01 through the real
    # exchange (fetch, submit, collect); for 00 straight into submitted/, as a LMS export would.
    if module_id == "01_lru":
        home = tmp_path / "learner-home"
        home.mkdir()
        nbgrader("fetch_assignment", module_id, cwd=home, exchange=exchange)
        fetched = home / module_id / f"{module_id}.ipynb"
        assert fetched.is_file()
        shutil.copyfile(committed("solutions", module_id), fetched)
        nbgrader("submit", module_id, cwd=home, exchange=exchange)
        nbgrader("collect", module_id, "--update", cwd=course, exchange=exchange)
    else:
        target = course / "submitted" / ADA / module_id / f"{module_id}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(committed("solutions", module_id), target)
    assert (course / "submitted" / ADA / module_id / f"{module_id}.ipynb").is_file()

    # learner "bob" hands in the untouched exercise; "cem" (module 01) a subtly wrong LRU
    assert ADA not in ("bob", "cem")
    students = {"bob": read(committed("exercises", module_id))}
    if module_id == "01_lru":
        students["cem"] = with_lru(read(committed("solutions", module_id)), SUBTLY_WRONG_LRU)
    for student, nb in students.items():
        target = course / "submitted" / student / module_id / f"{module_id}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)

    nbgrader("autograde", module_id, "--create", cwd=course)
    # each notebook's kernel kept its progress and hypothesis files to itself: nothing in the
    # shared home (one learner's passes showed in the next one's feedback), no .hypothesis/
    # beside the graded notebooks (it was copied into the released feedback)
    assert not list(_home(course).rglob("progress.json")), "autograde kernels shared a progress file"
    assert not list((course / "autograded").rglob(".hypothesis")), "hypothesis wrote beside the graded notebooks"

    cells = graded_cells(module_id)
    auto = {gid for gid, meta in cells.items() if not meta.get("solution")}  # autograder test cells
    manual = {gid for gid, meta in cells.items() if meta.get("solution")}  # written answers
    assert auto, "a module without autograded cells?"

    ada = scores(course, module_id, ADA)
    for gid in auto:
        assert ada[gid] == (cells[gid]["points"], cells[gid]["points"]), f"solution lost points on {gid}: {ada[gid]}"
    for gid in manual:
        assert ada[gid][0] is None, f"{gid} is graded by hand, not automatically"

    bob = scores(course, module_id, "bob")
    for gid in auto | manual:
        assert bob[gid][0] == 0, f"untouched exercise scored {bob[gid]} on {gid}"

    if module_id == "01_lru":
        cem = scores(course, module_id, "cem")
        assert cem["test_lru_basic"][0] == 0, "the hidden model comparison must catch the capacity bug"
        assert cem["test_hit_ratio"][0] == 2 and cem["test_complexity"][0] == 1

    # feedback: no hidden-test source, no traceback that quotes it
    nbgrader("generate_feedback", module_id, "--force", cwd=course)
    hidden = secret_lines(module_id)["hidden"]
    for student in [ADA, *students]:
        page = course / "feedback" / student / module_id / f"{module_id}.html"
        text = html_text(page.read_text(encoding="utf-8"))
        assert f'check("{next(iter(sorted(auto)))[5:]}")' in text, "the visible part of test cells is shown"
        lines = {line.strip() for line in text.splitlines()}
        own = learner_lines(course / "submitted" / student / module_id / f"{module_id}.ipynb")
        leaked = sorted(h for h in hidden - own if h in lines or (len(h) > 20 and h in text))
        assert not leaked, f"feedback for {student} shows hidden-test lines: {leaked[:5]}"
        assert "BEGIN HIDDEN TESTS" not in text
    bob_page = html_text((course / "feedback" / "bob" / module_id / f"{module_id}.html").read_text())
    assert "the visible checks above do not pass yet" in bob_page, "a visible failure keeps its message"
    if module_id == "01_lru":
        cem_page = html_text((course / "feedback" / "cem" / module_id / f"{module_id}.html").read_text())
        # the hidden helpers raise Mismatch, an AssertionError: the page names the class, never the test
        assert re.search(r"\b(?:AssertionError|Mismatch) raised inside a hidden test", cem_page), cem_page
        # the author's label of the failing part, never its source
        assert "It checks long random sequences of get and put" in cem_page, cem_page
        assert "_behaves_like_the_model" not in cem_page and "hypothesis" not in cem_page.lower()

    # export: one row per learner, totals as scored
    nbgrader("export", cwd=course)
    with open(course / "grades.csv", newline="") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    total_auto = sum(cells[g]["points"] for g in auto)
    assert float(rows[ADA]["score"]) == total_auto
    assert float(rows["bob"]["score"]) == 0
    assert float(rows[ADA]["max_score"]) == sum(meta["points"] for meta in cells.values())
