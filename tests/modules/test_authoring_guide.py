"""docs/authoring.md, followed once: add a question to module 00 in a fixture copy of the
course's content and source, build it with the course's build, and check the question appears
(registry, learner notebook without solution or hidden tests) and grades (the reference passes
its test cell during the build; a wrong answer fails both the check and the test cell)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "authoring.md").read_text()

# Step 1 of the guide: the question, once, in the module file.
HELPER_AND_QUESTION = '''
def assert_ttl_minutes(value, minutes: int) -> None:
    """The TTL in minutes, from the TTL in seconds."""
    expect("SESSION_TTL_MINUTES", value, minutes, "Divide the seconds by 60; use `//` for an int.")


def check_ttl_minutes(ns: dict) -> None:
    """SESSION_TTL_MINUTES matches SESSION_TTL_SECONDS"""
    if "SESSION_TTL_MINUTES" not in ns:
        raise NotAttempted("`SESSION_TTL_MINUTES` isn't defined yet.")
    assert_ttl_minutes(ns["SESSION_TTL_MINUTES"], ns["SESSION_TTL_SECONDS"] // 60)


SESSION_MINUTES = Question(id="session_minutes", title="The TTL in minutes",
                           checks=[check_ttl_minutes], hints=["How many seconds in a minute?"])

'''

# Step 2 of the guide: the notebook cells (the guide's own example, verbatim).
def _guide_cells() -> str:
    start = GUIDE.index('# %% nbgrader={"grade": false, "grade_id": "session_minutes"')
    end = GUIDE.index("### END HIDDEN TESTS", start) + len("### END HIDDEN TESTS")
    task = "# %% [markdown]\n# ## The TTL in minutes\n#\n# Set `SESSION_TTL_MINUTES` from `SESSION_TTL_SECONDS`.\n\n"
    return task + GUIDE[start:end] + '\n\n# %%\ncheck("session_minutes")\n\n'


BUILD_AND_GRADE = '''
import json, sys
from pathlib import Path

import jupytext

import coursekit.build as build
from coursekit import check
from coursekit.questions import load_module

course, out = Path(sys.argv[1]), Path(sys.argv[2])
build.COURSE, build.NBGRADER_CONFIG, build.MODULES = course, course / "nbgrader_config.py", ["00_orientation"]
build._build_one("00_orientation", out)  # raises if any cell of the reference solution fails

# a wrong answer, graded the way the notebook grades it: the check, then the test cell
cells = [(c.metadata.get("nbgrader", {}).get("grade_id"), c.source)
         for c in jupytext.read(course / "00_orientation.py").cells if c.cell_type == "code"]
ns = {"__name__": "__main__"}
verdicts = {}
for gid, src in cells:
    if gid == "session_minutes":
        src = "SESSION_TTL_MINUTES = SESSION_TTL_SECONDS  # forgot to divide"
    if gid == "test_session_minutes":
        verdicts["check"] = bool(check("session_minutes", ns=ns, quiet=True))
        try:
            exec(src, ns)
            verdicts["test_cell"] = "passed"
        except AssertionError as exc:
            verdicts["test_cell"] = "failed: " + str(exc)
        break
    if gid in ("setup", "warmup", "session_minutes"):
        exec(src, ns)
print(json.dumps({"ids": load_module("00_orientation").question_ids, **verdicts}))
'''


def test_following_the_guide_adds_a_question_that_builds_and_grades(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(ROOT / "lib" / "cache_course", lib / "cache_course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    module = lib / "cache_course" / "m00_orientation.py"
    text = module.read_text()
    marker = "# --------------------------------------------------------------------------- wip_pr"
    assert marker in text and "QUESTIONS = [WARMUP, WIP_PR]" in text
    text = text.replace(marker, HELPER_AND_QUESTION + marker)
    module.write_text(text.replace("QUESTIONS = [WARMUP, WIP_PR]", "QUESTIONS = [WARMUP, SESSION_MINUTES, WIP_PR]"))

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
    source = (ROOT / "course" / "00_orientation.py").read_text()
    at = source.index("\n# %%", source.index('"grade_id": "test_warmup"')) + 1
    (course / "00_orientation.py").write_text(source[:at] + _guide_cells() + source[at:])

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lib), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", BUILD_AND_GRADE, str(course), str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ids"] == ["warmup", "session_minutes", "wip_pr"]  # the registry has it, in order
    assert result["check"] is False and result["test_cell"].startswith("failed")  # a wrong answer grades 0

    exercise = json.loads((tmp_path / "out" / "exercises" / "00_orientation" / "00_orientation.ipynb").read_text())
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"]) for c in exercise["cells"]}
    assert "YOUR CODE HERE" in by_id["session_minutes"] and "// 60" not in by_id["session_minutes"]
    test_cell = by_id["test_session_minutes"]
    assert 'check("session_minutes")' in test_cell
    assert "HIDDEN" not in test_cell and "_assert_ttl_minutes" not in test_cell  # nothing hidden ships
    solution = json.loads((tmp_path / "out" / "solutions" / "00_orientation" / "00_orientation.ipynb").read_text())
    ran = [c for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_session_minutes"]
    assert ran and not any(o.get("output_type") == "error" for o in ran[0].get("outputs", []))
