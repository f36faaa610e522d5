"""The command line: help, exit statuses, a learner's own repository, the notebook time limit."""
from __future__ import annotations

import shutil

import nbformat
import pytest

import grading_course as fc
from grading_helpers import run_cli


def grade(*args):
    return run_cli("grade", *args, "--source", str(fc.SOURCE), "--cell-timeout", "5", "--jobs", "2")


def test_help_reads_well():
    r = run_cli("grade", "--help")
    assert r.returncode == 0
    for text in ("SUBMISSIONS", "--out", "--fail-under", "--jobs", "--cell-timeout", "--notebook-timeout",
                 "exit status:", "could not grade"):
        assert text in r.stdout


def test_no_submissions_exits_2(tmp_path):
    (tmp_path / "submitted").mkdir()
    r = grade(str(tmp_path / "submitted"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "no submissions found" in r.stderr


def test_missing_folder_exits_2(tmp_path):
    r = grade(str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "not found" in r.stderr


def test_unknown_module_exits_2(tmp_path):
    fc.write_submissions(tmp_path / "s", {"alice": {"00_basics": fc.solution_nb("00_basics")}})
    r = grade(str(tmp_path / "s"), "--out", str(tmp_path / "out"), "--module", "99_nope")
    assert r.returncode == 2 and "unknown module" in r.stderr
    (tmp_path / "s" / "alice" / "07_stray").mkdir()
    r = grade(str(tmp_path / "s"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "alice/07_stray" in r.stderr


def test_broken_course_source_exits_2(tmp_path):
    fc.write_submissions(tmp_path / "s", {"alice": {"00_basics": fc.solution_nb("00_basics")}})
    r = run_cli("grade", str(tmp_path / "s"), "--out", str(tmp_path / "out"), "--source", str(tmp_path / "none"))
    assert r.returncode == 2 and "could not grade" in r.stderr


@pytest.fixture(scope="module")
def learner_repo(tmp_path_factory):
    """One learner's repository: add() solved (2 of 7 points), 01_extra solved (1 of 1): 3/8 = 37.5%."""
    repo = tmp_path_factory.mktemp("repo")
    for module, nb in (("00_basics", fc.with_answers("00_basics", {"add": fc.SOLVED["add"]})),
                       ("01_extra", fc.solution_nb("01_extra"))):
        (repo / "exercises" / module).mkdir(parents=True)
        nbformat.write(nb, repo / "exercises" / module / f"{module}.ipynb")
    return repo


@pytest.mark.notebooks
def test_learner_repository_and_fail_under(learner_repo, tmp_path):
    r = grade(str(learner_repo), "--out", str(tmp_path / "a"), "--learner", "carol", "--fail-under", "30")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a" / "feedback" / "carol" / "01_extra.html").is_file()
    summary = (tmp_path / "a" / "summary.json").read_text()
    assert '"percent": 37.5' in summary
    # same notes, higher bar: exit 1, and the reason on stderr
    shutil.rmtree(tmp_path / "a")
    r = grade(str(learner_repo), "--out", str(tmp_path / "b"), "--learner", "carol", "--fail-under", "40")
    assert r.returncode == 1
    assert "carol: 3/8 = 37.5% is under the pass mark of 40%" in r.stderr


@pytest.mark.notebooks
def test_notebook_time_limit_kills_the_whole_job(tmp_path):
    slow = fc.solved(add="import time\ntime.sleep(4)\ndef add(a, b):\n    return a + b",
                     mean="import time, math\ntime.sleep(4)\ndef mean(xs):\n    return math.fsum(xs) / len(xs)",
                     simulate="import time\ntime.sleep(4)\ndef simulate(steps):\n    return -(-steps // 3)")
    fc.write_submissions(tmp_path / "s", {"slow": {"00_basics": slow}})
    r = run_cli("grade", str(tmp_path / "s"), "--out", str(tmp_path / "out"), "--source", str(fc.SOURCE),
                "--cell-timeout", "10", "--notebook-timeout", "7")
    assert r.returncode == 0, r.stderr
    csv = (tmp_path / "out" / "grades.csv").read_text()
    assert "slow,00_basics,test_simulate,0,2,timeout" in csv
    fb = (tmp_path / "out" / "feedback" / "slow" / "00_basics.html").read_text()
    assert "time limit of 7 s" in fb
