"""The contract over the real course: solutions get full marks, untouched exercises get zero.

Skips, saying why, until `course/` has been built into `exercises/` and `solutions/`.
"""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from grading_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("grading-real")]


def _modules() -> list[str]:
    # exercises/ and solutions/ are committed and the sources must build: a gap here is a failure, not a skip
    from coursekit.build import MODULES, source_notebook

    missing = [f"{d}/{m}/{m}.ipynb" for m in MODULES for d in ("exercises", "solutions")
               if not (ROOT / d / m / f"{m}.ipynb").is_file()]
    assert not missing, f"course not built (make build): missing {', '.join(missing)}"
    for m in MODULES:
        source_notebook(m)
    return list(MODULES)


FIFO_CACHE = (ROOT / "tests" / "answers" / "lru_fifo.py").read_text()


# passes the visible check (it scans only past 1,000 entries), fails the hidden O(1) test; an LRU
# that always scans (lru_items_scan.py) now fails the visible check too (issue 11, item 2)
SCANNING_CACHE = (ROOT / "tests" / "answers" / "lru_scan_past_1000.py").read_text()


def test_solutions_full_marks_exercises_zero_nothing_leaks(tmp_path):
    modules = _modules()
    sub = tmp_path / "submitted"
    for learner, folder in (("solution", "solutions"), ("untouched", "exercises")):
        for m in modules:
            (sub / learner / m).mkdir(parents=True)
            shutil.copy(ROOT / folder / m / f"{m}.ipynb", sub / learner / m / f"{m}.ipynb")
    (sub / "fifo" / "01_lru").mkdir(parents=True)
    nb = nbformat.read(ROOT / "exercises" / "01_lru" / "01_lru.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "lru_basic":
            cell.source = FIFO_CACHE
    nbformat.write(nb, sub / "fifo" / "01_lru" / "01_lru.ipynb")
    (sub / "scanner" / "01_lru").mkdir(parents=True)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "lru_basic":
            cell.source = SCANNING_CACHE
    nbformat.write(nb, sub / "scanner" / "01_lru" / "01_lru.ipynb")
    out = tmp_path / "out"
    r = run_cli("grade", str(sub), "--out", str(out), "--jobs", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((out / "grades.csv").read_text().splitlines()))
    auto = [row for row in rows if row["status"] != "manual"]
    assert auto, "the course has no autograded questions?"
    fifo = {row["question"]: row for row in auto if row["learner"] == "fifo"}
    assert fifo["test_lru_basic"]["score"] == "0", fifo
    scanner = {row["question"]: row for row in auto if row["learner"] == "scanner"}
    assert scanner["test_lru_basic"]["score"] == "0", scanner
    # a hidden helper's Mismatch is a wrong answer (failed), not a crash (error)
    assert scanner["test_lru_basic"]["status"] == "failed", scanner
    for row in auto:
        if row["learner"] in ("fifo", "scanner"):
            continue
        if row["learner"] == "solution":
            assert row["status"] == "passed" and row["score"] == row["max"], row
        else:
            assert row["score"] == "0" and row["status"] in ("not attempted", "failed", "error"), row

    from coursekit.build import source_notebook

    secret: set[str] = set()
    for m in modules:
        for cell in source_notebook(m).cells:
            text = "".join(cell.source)
            for block in re.findall(r"BEGIN (?:HIDDEN TESTS|SOLUTION)\n(.*?)### END", text, re.S):
                secret |= {line.strip() for line in block.splitlines() if len(line.strip()) > 25}
    for page in (out / "feedback").rglob("*.html"):
        text = page.read_text()
        for line in secret:
            assert line not in text, f"{line!r} leaked into {page}"
        assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    # the reference answers replace nothing, so no page may say the grader restored something
    for page in (out / "feedback" / "solution").glob("*.html"):
        assert "restored what your code had replaced" not in page.read_text(), page.name
    # a failed visible check: the feedback shows what check() reported, not a traceback
    fb = (out / "feedback" / "fifo" / "01_lru.html").read_text()
    assert "expected None, got 2" in fb, fb
    assert "Traceback" not in fb and "hint(&quot;lru_basic&quot;)" in fb
    # a failed hidden test: which part failed, in the author's words, and nothing of its source
    fb = (out / "feedback" / "scanner" / "01_lru.html").read_text()
    assert "passes the visible tests but fails a hidden test" in fb, fb
    assert "The part that failed checks the work per get and put staying flat" in fb, fb
