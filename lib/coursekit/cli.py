"""The ``coursekit`` command: ``coursekit grade`` (CI grading) and ``coursekit progress``."""
from __future__ import annotations

import argparse
import os
import sys

GRADE_DESCRIPTION = """\
Grade a folder of submissions and write grades.csv, summary.json and one
feedback page per learner and module.

SUBMISSIONS is either nbgrader's layout, <dir>/<learner>/<module>/<module>.ipynb
(usually the "submitted" folder), or one learner's repository with
exercises/<module>/<module>.ipynb filled in.

Each notebook is rebuilt from the course source: only the learner's answer
cells are taken, test cells run as published and hidden tests run after the
learner's code, in a fresh kernel with no network, one process per notebook,
with a time limit per cell and per notebook.
"""

GRADE_EPILOG = """\
exit status:
  0  grading completed (whatever the scores)
  1  --fail-under was given and a learner's autograded total is below it
  2  could not grade: no submissions, unknown module, or a broken install

examples:
  coursekit grade submitted --out grades                    # a class, on all cores
  coursekit grade . --out grades --fail-under 60            # a learner's own CI
  coursekit grade submitted --out g --module 01_lru --jobs 2 --cell-timeout 30
"""


def _pct(text: str) -> float:
    v = float(text)
    if not 0 <= v <= 100:
        raise argparse.ArgumentTypeError("a percentage between 0 and 100")
    return v


def _positive(text: str) -> float:
    v = float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return v


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coursekit", description="Cache Under Pressure course tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    g = sub.add_parser("grade", help="grade a folder of submissions (CI)", description=GRADE_DESCRIPTION,
                       epilog=GRADE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("submissions", metavar="SUBMISSIONS", help="submissions folder or a learner's repository")
    g.add_argument("--out", "-o", metavar="DIR", default="grades", help="output folder (default: %(default)s)")
    g.add_argument("--fail-under", metavar="PCT", type=_pct,
                   help="exit 1 if a learner's autograded total is below PCT percent")
    g.add_argument("--jobs", "-j", metavar="N", type=int, default=_cores(),
                   help="notebooks graded at once (default: all cores, %(default)s here)")
    g.add_argument("--module", "-m", metavar="ID", action="append", dest="modules",
                   help="grade only this module (repeatable; default: all)")
    g.add_argument("--learner", metavar="NAME",
                   help="learner name when grading one repository (default: $GITHUB_ACTOR or the folder name)")
    g.add_argument("--cell-timeout", metavar="S", type=_positive, default=60.0,
                   help="seconds per cell before it is interrupted (default: %(default)g)")
    g.add_argument("--notebook-timeout", metavar="S", type=_positive, default=300.0,
                   help="seconds per notebook before its processes are killed (default: %(default)g)")
    g.add_argument("--memory-mb", metavar="MB", type=int, default=4096,
                   help="resident memory for one learner's whole process tree; each process may also reserve "
                        "1024 MB of address space beyond it (default: %(default)s; 0 = none)")
    g.add_argument("--max-processes", metavar="N", type=int, default=256,
                   help="processes and threads for one learner's whole process tree (default: %(default)s)")
    g.add_argument("--question-jobs", metavar="N", type=int, default=2,
                   help="questions of one notebook graded at once, each in a fresh kernel (default: %(default)s)")
    g.add_argument("--source", metavar="DIR",
                   help="folder of instructor notebooks (default: built from course/ by coursekit.build)")
    g.add_argument("--sandbox", choices=["auto", "full", "net", "none"], default="auto",
                   help="isolation: namespaces when the machine allows (auto), or insist on one (default: auto)")

    sub.add_parser("progress", help="show which questions of which modules pass")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "progress":
        from coursekit.progress_store import print_progress

        try:
            return print_progress()
        except BrokenPipeError:  # `coursekit progress | head`
            return 0

    try:
        from coursekit.grading import GradingError, Options, grade
    except Exception as exc:  # noqa: BLE001 - a broken install cannot grade
        print(f"coursekit grade: broken install: {exc}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("coursekit grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    opts = Options(source=args.source, modules=args.modules, learner=args.learner, jobs=args.jobs,
                   cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                   memory_mb=args.memory_mb, max_processes=args.max_processes,
                   question_jobs=max(1, args.question_jobs), sandbox=args.sandbox, fail_under=args.fail_under)
    try:
        return grade(args.submissions, args.out, opts).exit_code
    except GradingError as exc:
        print(f"coursekit grade: could not grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coursekit grade: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
