"""Per-learner variants at grading: the grader passes the learner it grades into every kernel,
so the graded kernel sees the same scenario as that learner's notebook (coursekit.variants).

The probe: module 06's reference answers, with ``healthy_minutes`` first asserting the page
minute that alice's notebook printed. Graded as alice it scores; graded as bob (another
variant, another page minute) the same notebook loses ``verify``'s points, and only those.
"""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from grading_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
MODULE = "06_incident"

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("grading-real")]


def _shown_page_minute(learner: str) -> float:
    """What the notebook's own first cells print for ``learner``: 'page fired at minute X'."""
    from coursekit.build import source_notebook

    code = [c.source for c in source_notebook(MODULE).cells if c.cell_type == "code"]
    setup = next(s for s in code if "VARIANT = my_variant()" in s)
    page = next(s for s in code if "page fired at minute" in s)
    old = os.environ.get("COURSEKIT_LEARNER")
    os.environ["COURSEKIT_LEARNER"] = learner
    try:
        ns: dict = {"__name__": "__main__"}
        out = io.StringIO()
        with redirect_stdout(out):
            exec(setup, ns)
            exec(page.replace("console.dashboard(", "(lambda *a, **k: None)("), ns)
    finally:
        if old is None:
            del os.environ["COURSEKIT_LEARNER"]
        else:
            os.environ["COURSEKIT_LEARNER"] = old
    assert f"Your variant ({learner}): seed {ns['VARIANT']}." in out.getvalue()
    return float(re.search(r"page fired at minute ([0-9.]+);", out.getvalue()).group(1))


def _probe_notebook(page: float) -> nbformat.NotebookNode:
    from coursekit.build import source_notebook

    nb = source_notebook(MODULE)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "verify":
            head = "def healthy_minutes(run, at_minute):\n"
            assert cell.source.startswith(head)
            cell.source = head + (f"    assert console.page_minute() == {page!r}, "
                                  "f'graded on page minute {console.page_minute()}'\n") + cell.source[len(head):]
    return nb


def _rows(out: Path) -> dict[tuple[str, str], dict]:
    return {(r["learner"], r["question"]): r for r in csv.DictReader((out / "grades.csv").read_text().splitlines())}


def test_the_graded_kernel_sees_the_learners_own_variant(tmp_path):
    alice, bob = _shown_page_minute("alice"), _shown_page_minute("bob")
    assert alice != bob  # two learners, two incidents
    nb = _probe_notebook(alice)
    sub = tmp_path / "submitted"
    for learner in ("alice", "bob"):
        (sub / learner / MODULE).mkdir(parents=True)
        nbformat.write(nb, sub / learner / MODULE / f"{MODULE}.ipynb")
    out = tmp_path / "out"
    r = run_cli("grade", str(sub), "--out", str(out), "--jobs", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    rows = _rows(out)
    assert rows[("alice", "test_verify")]["status"] == "passed", rows[("alice", "test_verify")]
    assert rows[("alice", "test_respond")]["status"] == "passed", rows[("alice", "test_respond")]
    assert rows[("bob", "test_verify")]["score"] == "0", rows[("bob", "test_verify")]
    # respond runs with the course's healthy_minutes, so bob loses verify's points alone
    assert rows[("bob", "test_respond")]["status"] == "passed", rows[("bob", "test_respond")]
    fb = (out / "feedback" / "bob" / f"{MODULE}.html").read_text()
    assert f"graded on page minute {bob}" in fb


def test_a_learner_grading_their_own_repository_gets_their_variant(tmp_path):
    repo = tmp_path / "fork"
    (repo / "exercises" / MODULE).mkdir(parents=True)
    nbformat.write(_probe_notebook(_shown_page_minute("alice")), repo / "exercises" / MODULE / f"{MODULE}.ipynb")
    (repo / ".coursekit").mkdir()
    (repo / ".coursekit" / "learner").write_text("alice\n")  # what alice's notebooks wrote on first use
    out = tmp_path / "out"
    env = {**os.environ, "GITHUB_ACTOR": "alice-on-github"}
    env.pop("COURSEKIT_LEARNER", None)
    r = subprocess.run([sys.executable, "-m", "coursekit.cli", "grade", str(repo), "--out", str(out)],
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr
    rows = _rows(out)
    assert rows[("alice", "test_verify")]["status"] == "passed", rows
