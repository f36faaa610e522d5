"""Grade a folder of submissions: discover → reconstruct → execute (in parallel) → score → report."""
from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from . import sandbox
from .discover import Submission, discover, with_missing
from .errors import GradingError
from .feedback import pages, write_pages
from .protocol import Event, Job, Segment, Step
from .reconstruct import Reconstruction, reconstruct
from .report import write_reports
from .score import ModuleResult, missing_module, score_module
from .source import ModuleSpec, load_sources, module_names


@dataclass
class Options:
    """How ``grade`` runs; each field is also a ``coursekit grade`` option (``--cell-timeout`` …)."""

    source: str | None = None
    """Folder of instructor notebooks to grade against (``<module>.ipynb``, ``<module>/<module>.ipynb``
    or jupytext ``<module>.py``); default: the notebooks built from ``course/``."""
    modules: list[str] | None = None
    """Grade only these module ids (default: every module found in the submissions)."""
    learner: str | None = None
    """The learner's name when grading one repository (default: ``.coursekit/learner``, ``$GITHUB_ACTOR``
    or the folder name); every kernel gets it as ``COURSEKIT_LEARNER``, so it grades that learner's variant."""
    jobs: int | None = None
    """Notebooks graded at the same time (default: the number of CPUs)."""
    cell_timeout: float = 60.0
    """Seconds one cell may run; then it is interrupted, and stopped ``interrupt_grace`` later."""
    notebook_timeout: float = 300.0
    """Seconds for one learner's whole notebook (every question's kernel together)."""
    interrupt_grace: float = 5.0
    """Seconds an interrupted cell gets to stop before its kernel is killed."""
    memory_mb: int = 4096
    """Memory for one learner's whole process tree (all their kernels and what those started)."""
    max_processes: int = 256
    """Processes and threads for one learner's whole process tree."""
    question_jobs: int = 2
    """Question kernels of one notebook run at the same time (each question has a fresh kernel)."""
    sandbox: str = "auto"
    """Isolation: ``auto`` (strongest available), ``full`` (user/net/pid/mount namespaces), ``net``
    (network namespace only) or ``none`` (in-kernel socket guard); ``full``/``net`` fail if unavailable."""
    fail_under: float | None = None
    """Exit with status 1 when a learner's autograded total is under this percentage."""
    gradebook: str | None = None
    """nbgrader's ``gradebook.db`` (or the course folder holding it): merge the manual grades and
    comments given in formgrader; its students without a notebook for a module are ``missing``."""
    shard: tuple[int, int] | None = None
    """``(I, N)``: grade only the I-th of N slices of the jobs and write ``shard.json`` (``merge``)."""


@dataclass
class Outcome:
    exit_code: int
    results: list[ModuleResult]
    summary: dict


def _names(code: str) -> tuple[set[str], set[str]] | None:
    """(names the code binds at top level, names it reads anywhere), or None if it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            bound |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    read |= {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    return bound, read


def question_cells(spec: ModuleSpec, rec: Reconstruction) -> dict[str, list[int]]:
    """Answer grade_id -> the test cells whose kernels run it.

    A question's kernel runs its own answer cells and, of earlier answers, only those that bind a
    name its test, its setup cells or its other answers read: one question's answer (or trick)
    cannot cost another question's points unless that question builds on it."""
    runs: dict[str, list[int]] = {}
    answers = [c for c in spec.cells if c.role in ("answer", "manual") and c.cell_type == "code"
               and c.grade_id in rec.answers]
    for t in [c for c in spec.cells if c.role == "test"]:
        need = set(t.answers)
        reads: set[str] = set()
        provided: set[str] = set()  # what the notebook's own cells bind is no reason to run an answer
        for c in spec.cells:
            if c.role == "setup" and c.index < t.index:
                provided |= set(c.binds)
        for code in [s.code for s in t.segments] + [c.source for c in spec.cells if c.role == "setup"
                                                    and c.index < t.index]:
            got = _names(code)
            reads |= got[1] if got else set()
        grew = True
        while grew:
            grew = False
            for a in answers:
                if a.index > t.index:
                    continue
                info = _names(rec.answers[a.grade_id]) or _names(a.source)
                if a.grade_id in need:
                    new = info[1] - reads if info else set()
                    if new:
                        reads |= new
                        grew = True
                elif info is None or info[0] & (reads - provided):
                    need.add(a.grade_id)
                    grew = True
        for g in need:
            runs.setdefault(g, []).append(t.index)
    return runs


def build_steps(spec: ModuleSpec, rec: Reconstruction) -> list[Step]:
    steps = []
    runs = question_cells(spec, rec)
    for c in spec.cells:
        if c.role == "setup":
            steps.append(Step(c.index, "setup", c.source, binds=list(c.binds)))
        elif c.role in ("answer", "manual") and c.cell_type == "code":
            if c.grade_id in rec.answers:
                steps.append(Step(c.index, "answer", rec.answers[c.grade_id], questions=runs.get(c.grade_id, [])))
        elif c.role == "test":
            steps.append(Step(c.index, "test", segments=[Segment(s.kind, s.code) for s in c.segments],
                              imports=spec.imports_before(c.index)))
    return steps


def _exposed_paths() -> list[str]:
    """What the kernel may see besides the system directories, read-only: the interpreter,
    the venv and the toolkit (``lib/``, for an editable install) — never the course."""
    toolkit = Path(__file__).resolve().parents[2]
    return [sys.prefix, sys.base_prefix, str(toolkit)]


def run_worker(job: Job, level: str, wall: float) -> tuple[list[Event], bool, str]:
    """Run one job in its own process group; returns (events, timed_out, stderr)."""
    cmd = [*sandbox.prefix(level), sys.executable, "-m", "coursekit.grading.worker"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd="/", text=True)
    timed_out = False
    try:
        out, err = proc.communicate(job.to_json(), timeout=wall)
    except subprocess.TimeoutExpired:
        timed_out = True
        _killpg(proc.pid)
        out, err = proc.communicate()
    finally:
        _killpg(proc.pid)  # whatever the learner's code left behind in the group
    events = [ev for ev in map(Event.from_json, out.splitlines()) if ev is not None]
    return events, timed_out, err[-2000:]


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def grade(submissions: str | Path, out: str | Path, opts: Options | None = None,
          log: TextIO | None = None, on_result: Callable[[ModuleResult], None] | None = None) -> Outcome:
    """Grade ``submissions`` into ``out`` (grades.csv, summary.json, feedback/), or with
    ``opts.shard`` one slice of it into ``out/shard.json``; raises GradingError if it cannot."""
    opts = opts or Options()
    log = log if log is not None else sys.stderr
    if opts.shard is not None and opts.fail_under is not None:
        raise GradingError("--fail-under applies to the whole class: give it to `coursekit merge`, not to a shard")
    sandbox.not_dumpable()  # this process holds every hidden test: keep kernels out of its memory
    known = module_names(opts.source)
    book = None
    if opts.gradebook is not None:
        from .gradebook import read_gradebook

        book = read_gradebook(opts.gradebook)
    subs = discover(submissions, known, opts.modules, opts.learner)
    subs = with_missing(subs, known, opts.modules, book.students if book else [])
    specs = load_sources(opts.source, only=sorted({s.module for s in subs}))
    if book is not None:
        from .gradebook import check_gradebook

        check_gradebook(book, {(s.learner, s.module) for s in subs if not s.missing}, specs)
    out = Path(out)
    level = sandbox.best_level(opts.sandbox)
    if opts.sandbox in ("full", "net") and level != opts.sandbox:
        raise GradingError(f"sandbox level {opts.sandbox!r} is not available on this machine")
    everything = subs
    if opts.shard is not None:
        from . import shard as sharding

        positions = sharding.select(subs, opts.shard)
        subs = [everything[k] for k in positions]
    jobs = opts.jobs or os.cpu_count() or 1
    print(f"grading {sum(not s.missing for s in subs)} notebook(s) with {jobs} job(s)"
          f"{f', shard {opts.shard[0]}/{opts.shard[1]}' if opts.shard else ''}; isolation: "
          f"{ {'full': 'user/net/pid/mount namespaces, private root', 'net': 'network namespace', 'none': 'socket guard only'}[level] }",
          file=log, flush=True)
    print(f"limits per learner: {opts.memory_mb} MB of memory and {opts.max_processes} processes for the whole "
          f"process tree, by {sandbox.limits_mechanism(level)}; one fresh kernel per question, "
          f"{opts.question_jobs} at a time", file=log, flush=True)

    def one(sub: Submission) -> ModuleResult:
        t0 = time.monotonic()
        spec = specs[sub.module]
        if sub.missing:
            print(f"missing {sub.key}: no notebook", file=log, flush=True)
            return missing_module(sub.learner, spec)
        rec = reconstruct(spec, sub.path)
        events: list[Event] = []
        timed_out, err = False, ""
        if rec.unreadable is None:
            job = Job(steps=build_steps(spec, rec), guard_modules=spec.imports, cell_timeout=opts.cell_timeout,
                      interrupt_grace=opts.interrupt_grace, memory_mb=opts.memory_mb,
                      max_processes=opts.max_processes, parallel=opts.question_jobs,
                      socket_guard=level == "none", sandbox={"level": level, "expose": _exposed_paths()},
                      learner=sub.learner)
            events, timed_out, err = run_worker(job, level, opts.notebook_timeout)
        res = score_module(sub.learner, spec, rec, events, opts.cell_timeout, opts.notebook_timeout, timed_out)
        if rec.unreadable is None and not any(e.event in ("ready", "fatal") for e in events) \
                and not timed_out:
            res.grader_error = f"the grading worker failed: {err.strip().splitlines()[-1] if err.strip() else 'no output'}"
            for q in res.questions:
                if not q.manual:
                    q.status, q.score, q.message = "grader error", None, f"The grader could not run this notebook."
        res.seconds = time.monotonic() - t0
        print(f"graded {sub.learner}/{sub.module} {res.score:g}/{res.max:g} in {res.seconds:.1f} s"
              + (f"  [grader error: {res.grader_error}]" if res.grader_error else ""), file=log, flush=True)
        if on_result:
            on_result(res)
        return res

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, subs))
    if book is not None:
        from .gradebook import apply_gradebook

        apply_gradebook(results, book)
    if opts.shard is not None:
        parts = sharding.fingerprint_parts(specs, everything, opts, level, book.fingerprint() if book else None)
        path = sharding.write_shard(out, opts.shard, parts, [s.key for s in everything], positions, results,
                                    pages(results))
        print(f"wrote {path} ({len(results)} of {len(everything)} jobs); merge every shard with "
              "`coursekit merge`", file=log, flush=True)
        errors = [r for r in results if r.grader_error]
        return Outcome(2 if errors else 0, results, {})
    return finish(out, results, pages(results), opts.fail_under, log)


def finish(out: Path, results: list[ModuleResult], rendered: dict[str, str], fail_under: float | None,
           log: TextIO) -> Outcome:
    """Write grades.csv, summary.json and the feedback pages; the exit status of ``coursekit grade``."""
    summary = write_reports(out, results, fail_under)
    write_pages(out, rendered)
    print(f"wrote {out / 'grades.csv'}, {out / 'summary.json'} and {out / 'feedback'}/", file=log, flush=True)
    if summary["missing"]:
        print(f"missing (no notebook): {', '.join(summary['missing'])}", file=log, flush=True)
    if summary["grader_errors"]:
        print(f"could not grade: {', '.join(summary['grader_errors'])}", file=log, flush=True)
        return Outcome(2, results, summary)
    if fail_under is not None and summary.get("below_pass_mark"):
        for name in summary["below_pass_mark"]:
            t = summary["learners"][name]
            if t["percent"] is None:
                print(f"{name}: submitted nothing, under the pass mark of {fail_under:g}%", file=log, flush=True)
                continue
            print(f"{name}: {t['score']:g}/{t['max']:g} = {t['percent']:g}% is under the pass mark "
                  f"of {fail_under:g}%", file=log, flush=True)
        return Outcome(1, results, summary)
    return Outcome(0, results, summary)


def merge(shards: list[str | Path], out: str | Path, fail_under: float | None = None,
          log: TextIO | None = None) -> Outcome:
    """``coursekit merge``: the outputs of one unsharded run, byte for byte, from every shard's
    ``shard.json``; raises GradingError for mismatched, overlapping, missing or malformed shards."""
    from .shard import merge_shards

    results, rendered = merge_shards(shards)
    log = log if log is not None else sys.stderr
    print(f"merged {len(shards)} shard(s): {len(results)} job(s)", file=log, flush=True)
    return finish(Path(out), results, rendered, fail_under, log)
