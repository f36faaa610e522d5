"""The ``coursekit`` command: ``coursekit grade`` (CI grading), ``coursekit merge`` (sharded
grading) and ``coursekit progress``."""
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
  coursekit grade ~/course/submitted --gradebook ~/course   # with formgrader's manual grades
  coursekit grade submitted --shard 2/4 --out shard2        # one CI job of four; then coursekit merge
"""

MERGE_DESCRIPTION = """Merge the shard.json files of `coursekit grade --shard I/N` runs (all N of
them, graded from the same sources, submissions, gradebook and options) into
grades.csv, summary.json and feedback/, byte for byte as one unsharded run.
"""

MERGE_EPILOG = """exit status:
  0  merged (whatever the scores)
  1  --fail-under was given and a learner's autograded total is below it
  2  could not merge: a shard missing, given twice, of another run or unreadable;
     or a shard could not grade a notebook

example:
  coursekit merge shard1 shard2 shard3 --out grades --fail-under 60
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


def _shard(text: str) -> tuple[int, int]:
    from coursekit.grading.shard import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
                   help="learner name when grading one repository (default: the name its notebooks kept in "
                        ".coursekit/learner, else $GITHUB_ACTOR, else the folder name); their variant depends on it")
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
    g.add_argument("--gradebook", metavar="PATH",
                   help="nbgrader's gradebook.db, or the course folder holding it: merge the manual grades and "
                        "comments given in formgrader; its students without a notebook are 'missing'")
    g.add_argument("--shard", metavar="I/N", type=_shard,
                   help="grade only the I-th of N slices of the (learner, module) jobs and write OUT/shard.json "
                        "for `coursekit merge` (a CI matrix); not with --fail-under")

    m = sub.add_parser("merge", help="merge the outputs of `coursekit grade --shard I/N` runs",
                       description=MERGE_DESCRIPTION, epilog=MERGE_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("shards", metavar="SHARD_DIR", nargs="+",
                   help="the --out folder (or its shard.json) of every shard, 1/N to N/N, in any order")
    m.add_argument("--out", "-o", metavar="DIR", default="grades", help="output folder (default: %(default)s)")
    m.add_argument("--fail-under", metavar="PCT", type=_pct,
                   help="exit 1 if a learner's autograded total is below PCT percent")

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
        from coursekit.grading import GradingError, Options, grade, merge
    except Exception as exc:  # noqa: BLE001 - a broken install cannot grade
        print(f"coursekit {args.command}: broken install: {exc}", file=sys.stderr)
        return 2
    if args.command == "merge":
        try:
            return merge(args.shards, args.out, args.fail_under).exit_code
        except GradingError as exc:
            print(f"coursekit merge: could not merge: {exc}", file=sys.stderr)
            return 2
    if args.jobs < 1:
        print("coursekit grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    opts = Options(source=args.source, modules=args.modules, learner=args.learner, jobs=args.jobs,
                   cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                   memory_mb=args.memory_mb, max_processes=args.max_processes,
                   question_jobs=max(1, args.question_jobs), sandbox=args.sandbox, fail_under=args.fail_under,
                   gradebook=args.gradebook, shard=args.shard)
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
