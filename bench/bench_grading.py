#!/usr/bin/env python
"""Benchmark grading: `coursekit grade` beside nbgrader's own autograde, in one run.

    python bench/bench_grading.py [--learners 20]      (also part of make bench)

1. One learner's module (01_lru, the reference answer): `coursekit grade` vs
   `nbgrader autograde` of the same notebook, wall seconds and their ratio.
2. The 01_lru notebooks of N learners (a mix of reference answers, untouched notebooks and
   a wrong LRU): `coursekit grade --jobs 2` vs `nbgrader autograde` (which grades one
   notebook at a time), wall seconds and their ratio.
3. The class: N learners x 2 modules (00_orientation, 01_lru) with `coursekit grade
   --jobs 2`, wall seconds and seconds per notebook, beside the previous grader (one kernel per
   notebook, base commit 2c9ae03: its lib/coursekit and course/, `git archive`d into a temporary
   folder and run through PYTHONPATH) and beside the figure measured before this change (62.7 s on 2 cores).
   The previous grader's kernels cannot see this checkout's lib/ inside its private root, so the
   side-by-side pair runs with `--sandbox net` (network namespace only); the default (full)
   sandbox figure is printed too.

Wall time on a shared machine varies by tens of percent between runs: read the ratios.
Each run also checks the scores it produced, so a fast wrong grader cannot look good.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursekit import build

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["00_orientation", "01_lru"]
# A wrong answer a learner might write (evicts the oldest insertion), shared with the tests.
FIFO_CACHE = (ROOT / "tests" / "answers" / "lru_fifo.py").read_text()


def notebook(kind: str, module_id: str, root: Path = ROOT) -> nbformat.NotebookNode:
    """A learner's notebook of ``kind``, from the exercises/ and solutions/ under ``root``."""
    folder = "solutions" if kind in ("solution", "fifo") else "exercises"
    nb = nbformat.read(root / folder / module_id / f"{module_id}.ipynb", as_version=4)
    if kind == "fifo":
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "lru_basic":
                cell.source = FIFO_CACHE
    return nb


def write(root: Path, learner: str, module_id: str, nb: nbformat.NotebookNode) -> None:
    target = root / learner / module_id / f"{module_id}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


BASE_COMMIT = "2c9ae03"  # the previous grader: one kernel per notebook
TODAY_SECONDS = 62.7  # section 3 with the previous grader, measured on 2 cores before this change


def previous_grader(tmp: Path) -> tuple[dict[str, str], Path] | None:
    """An environment that runs the base commit's coursekit, and the folder holding that commit's
    exercises/ and solutions/ (None if git cannot provide them). The previous grader grades its own
    commit's notebooks: the course has changed since, and a notebook of today's course is not an
    answer to yesterday's questions."""
    dest = tmp / "previous"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASE_COMMIT, "lib/coursekit", "course",
                              "exercises", "solutions"], capture_output=True, timeout=120)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True, timeout=120)
    return {**os.environ, "PYTHONPATH": str(dest / "lib")}, dest


def coursekit_grade(submitted: Path, out: Path, jobs: int, *extra: str,
                    env: dict[str, str] | None = None) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "coursekit.cli", "grade", str(submitted), "--out", str(out),
                           "--jobs", str(jobs), *extra], capture_output=True, text=True, timeout=1800, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"coursekit grade failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with open(out / "grades.csv", newline="") as fh:
        return seconds, list(csv.DictReader(fh))


def nbgrader_autograde(course: Path, learners: list[str], module_id: str) -> float:
    started = time.perf_counter()
    build.nbgrader(["autograde", module_id, "--create", "--force"], cwd=course, timeout=1800)  # raises on failure
    seconds = time.perf_counter() - started
    for learner in learners:
        if not (course / "autograded" / learner / module_id / f"{module_id}.ipynb").is_file():
            raise SystemExit(f"nbgrader autograde produced nothing for {learner}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print("grading benchmark")
    print(f"  Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="cup-bench-") as tmp:
        tmp = Path(tmp)

        # 1. one learner's module, both graders
        one = tmp / "one"
        write(one, "ada", "01_lru", notebook("solution", "01_lru"))
        ck_one, rows = coursekit_grade(one, tmp / "one-out", jobs=1)
        assert all(r["score"] == r["max"] for r in rows if r["status"] != "manual"), rows
        course = build.write_instructor_course(tmp / "course", ["01_lru"])
        build.nbgrader(["generate_assignment", "01_lru", "--force"], cwd=course)
        write(course / "submitted", "ada", "01_lru", notebook("solution", "01_lru"))
        nb_one = nbgrader_autograde(course, ["ada"], "01_lru")
        print("\n1. One learner's module (01_lru, reference answer), wall seconds")
        print(f"  nbgrader autograde (baseline)          {nb_one:7.1f} s   1.00x")
        print(f"  coursekit grade                        {ck_one:7.1f} s   {ck_one / nb_one:4.2f}x")

        # 2. the same 01_lru notebooks of a class, both graders (nbgrader grades one at a time)
        kinds = ["solution", "untouched", "fifo", "solution"]
        learners = [f"learner{i:02d}" for i in range(args.learners)]
        for folder in ("submitted", "autograded"):  # section 1's learner is not part of the class
            shutil.rmtree(course / folder / "ada", ignore_errors=True)
        per_module = tmp / "per-module"
        for i, learner in enumerate(learners):
            nb = notebook(kinds[i % len(kinds)], "01_lru")
            write(per_module, learner, "01_lru", nb)
            write(course / "submitted", learner, "01_lru", nb)
        nb_class = nbgrader_autograde(course, learners, "01_lru")
        ck_class, _ = coursekit_grade(per_module, tmp / "per-module-out", jobs=args.jobs)
        print(f"\n2. {args.learners} learners' 01_lru notebooks, wall seconds")
        print(f"  nbgrader autograde (baseline, serial)  {nb_class:7.1f} s   1.00x   "
              f"({nb_class / args.learners:.2f} s per notebook)")
        print(f"  coursekit grade --jobs {args.jobs}               {ck_class:7.1f} s   {ck_class / nb_class:4.2f}x   "
              f"({ck_class / args.learners:.2f} s per notebook)")

        # 3. the class: every learner, both modules
        submitted = tmp / "class"
        for i, learner in enumerate(learners):
            for module_id in MODULES:
                write(submitted, learner, module_id, notebook(kinds[i % len(kinds)], module_id))
        n = len(learners) * len(MODULES)

        def checked(rows: list[dict], out: Path) -> None:
            by_learner: dict[str, float] = {}
            for r in rows:
                if r["status"] != "manual":
                    by_learner[r["learner"]] = by_learner.get(r["learner"], 0.0) + float(r["score"] or 0)
            for i, learner in enumerate(learners):  # the grades are right, not just fast
                kind = kinds[i % len(kinds)]
                expected = {"solution": 8.0, "untouched": 0.0, "fifo": 4.0}[kind]
                if by_learner[learner] != expected:  # say which question and why, not just the total
                    mine = [f"{r['module']}/{r['question']} {r['score']}/{r['max']} {r['status']}"
                            for r in rows if r["learner"] == learner]
                    pages = sorted((out / "feedback" / learner).glob("*.html"))  # the folder goes with tmp
                    text = " ".join(re.sub(r"<[^>]+>", " ", f.read_text()) for f in pages)
                    raise SystemExit(f"{learner} ({kind}) scored {by_learner[learner]:g}, not {expected:g}: "
                                     f"{'; '.join(mine)}\nits feedback: {' '.join(text.split())[:3000]}")

        seconds, rows = coursekit_grade(submitted, tmp / "class-out", jobs=args.jobs)
        checked(rows, tmp / "class-out")
        net_new, rows = coursekit_grade(submitted, tmp / "class-out-net", args.jobs, "--sandbox", "net")
        checked(rows, tmp / "class-out-net")
        previous = previous_grader(tmp)
        net_old = None
        if previous is not None:
            env, old_root = previous
            old_submitted = tmp / "class-previous"
            for i, learner in enumerate(learners):
                for module_id in MODULES:
                    write(old_submitted, learner, module_id, notebook(kinds[i % len(kinds)], module_id, old_root))
            net_old, rows = coursekit_grade(old_submitted, tmp / "class-out-old", args.jobs, "--sandbox", "net",
                                            env=env)
            # Not checked: that grader's kernels scrub PYTHONPATH, so they import today's coursekit
            # (the venv's), whose per-learner variants need the learner's name the old grader never
            # passes; one visible check of 01 then fails. Its time is the baseline, not its scores.
            try:
                checked(rows, tmp / "class-out-old")
            except SystemExit as why:
                print(f"  (previous grader's scores differ from today's, as expected: {str(why).splitlines()[0]})")
        print(f"\n3. {args.learners} learners x {len(MODULES)} modules = {n} notebooks, --jobs {args.jobs}, wall seconds")
        print(f"  before this change (measured earlier, 2 cores)     {TODAY_SECONDS:7.1f} s   1.00x")
        if net_old is not None:
            print(f"  previous grader {BASE_COMMIT}, --sandbox net (baseline) {net_old:7.1f} s   1.00x   "
                  f"({net_old / n:.2f} s per notebook)")
            print(f"  coursekit grade, --sandbox net                     {net_new:7.1f} s   {net_new / net_old:4.2f}x")
        else:
            print(f"  (git archive {BASE_COMMIT} failed: previous grader not measured)")
            print(f"  coursekit grade, --sandbox net                     {net_new:7.1f} s")
        print(f"  coursekit grade, default sandbox                   {seconds:7.1f} s   "
              f"{seconds / TODAY_SECONDS:4.2f}x of {TODAY_SECONDS} s   ({seconds / n:.2f} s per notebook)")
        print("  scores checked: every learner's autograded total is what its answers deserve, in both of today's runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
