"""Shared grading runs: one run over every hostile learner at once, graded twice."""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grading_course as fc  # noqa: E402
from grading_helpers import GradingRun, Server, grade_folder  # noqa: E402


def _shared(tmp_path_factory, worker_id: str, name: str, make):
    """Run ``make(dir)`` once per test session, even across pytest-xdist workers.

    (pytest 9 ignores xdist's ``--dist loadgroup``, so every worker that gets a test of
    this file would otherwise grade the whole class again.) The first worker runs it
    under a file lock and leaves a JSON record; the others wait and read it."""
    if worker_id == "master":
        return make(tmp_path_factory.mktemp(name))
    root = tmp_path_factory.getbasetemp().parent
    record = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.is_file():
            return GradingRun.from_json(record.read_text())
        run = make(root / name)
        record.write_text(run.to_json())
        return run


def _class_folder(base: Path) -> tuple[Path, Server]:
    server = Server()
    root = base / "class" / "submitted"
    secret = [str(fc.SOURCE), str(Path(__file__).resolve().parents[1]),
              str(Path(__file__).resolve().parents[2] / "course")]
    fc.write_submissions(root, fc.hostile_learners(server.port, secret))
    return root, server


MEMORY = ("--memory-mb", "1000")  # low enough for the "hog" learner's tree to cross it


def _grade_class(base: Path) -> GradingRun:
    """Every hostile learner of the fixture course in one folder, graded twice."""
    root, server = _class_folder(base)
    fc.PROBE.unlink(missing_ok=True)  # a planted file left by an earlier, unsandboxed run
    try:
        run = grade_folder(root, base / "grades1", *MEMORY)
        run.accepted = [list(a) for a in server.accepted]
        run.probe_planted = fc.PROBE.exists()
        fc.PROBE.unlink(missing_ok=True)
        run.rerun = grade_folder(root, base / "grades2", *MEMORY)
        run.probe_planted |= fc.PROBE.exists()
    finally:
        server.close()
        fc.PROBE.unlink(missing_ok=True)  # never leave it in the toolkit for later runs
    return run


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> GradingRun:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
    run = _shared(tmp_path_factory, worker, "hostile", _grade_class)
    assert run.proc.returncode == 0, run.proc.stderr
    return run


@pytest.fixture(scope="session")
def hostile_rerun(hostile_run) -> GradingRun:
    return hostile_run.rerun
