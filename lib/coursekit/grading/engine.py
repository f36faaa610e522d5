"""Grade a folder of submissions: discover → reconstruct → execute (in parallel) → score → report."""
from __future__ import annotations

import json
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
from .discover import Submission, discover
from .errors import GradingError
from .feedback import write_feedback
from .reconstruct import Reconstruction, reconstruct
from .report import write_reports
from .score import ModuleResult, score_module
from .source import ModuleSpec, load_sources, module_names


@dataclass
class Options:
    source: str | None = None
    modules: list[str] | None = None
    learner: str | None = None
    jobs: int | None = None
    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    interrupt_grace: float = 5.0
    memory_mb: int = 4096
    sandbox: str = "auto"  # auto | full | net | none
    fail_under: float | None = None


@dataclass
class Outcome:
    exit_code: int
    results: list[ModuleResult]
    summary: dict


def build_steps(spec: ModuleSpec, rec: Reconstruction) -> list[dict]:
    steps = []
    for c in spec.cells:
        if c.role == "setup":
            steps.append({"id": c.index, "role": "setup", "code": c.source, "binds": c.binds})
        elif c.role in ("answer", "manual") and c.cell_type == "code":
            if c.grade_id in rec.answers:
                steps.append({"id": c.index, "role": "answer", "code": rec.answers[c.grade_id]})
        elif c.role == "test":
            steps.append({"id": c.index, "role": "test",
                          "segments": [{"kind": s.kind, "code": s.code} for s in c.segments]})
    return steps


def _exposed_paths() -> list[str]:
    """What the kernel may see besides the system directories, read-only: the interpreter,
    the venv and the toolkit (``lib/``, for an editable install) — never the course."""
    toolkit = Path(__file__).resolve().parents[2]
    return [sys.prefix, sys.base_prefix, str(toolkit)]


def run_worker(job: dict, level: str, wall: float) -> tuple[list[dict], bool, str]:
    """Run one job in its own process group; returns (events, timed_out, stderr)."""
    cmd = [*sandbox.prefix(level), sys.executable, "-m", "coursekit.grading.worker"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd="/", text=True)
    timed_out = False
    try:
        out, err = proc.communicate(json.dumps(job), timeout=wall)
    except subprocess.TimeoutExpired:
        timed_out = True
        _killpg(proc.pid)
        out, err = proc.communicate()
    finally:
        _killpg(proc.pid)  # whatever the learner's code left behind in the group
    events = []
    for line in out.splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    return events, timed_out, err[-2000:]


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def grade(submissions: str | Path, out: str | Path, opts: Options | None = None,
          log: TextIO | None = None, on_result: Callable[[ModuleResult], None] | None = None) -> Outcome:
    opts = opts or Options()
    log = log if log is not None else sys.stderr
    sandbox.not_dumpable()  # this process holds every hidden test: keep kernels out of its memory
    subs = discover(submissions, module_names(opts.source), opts.modules, opts.learner)
    specs = load_sources(opts.source, only=sorted({s.module for s in subs}))
    out = Path(out)
    level = sandbox.best_level(opts.sandbox)
    if opts.sandbox in ("full", "net") and level != opts.sandbox:
        raise GradingError(f"sandbox level {opts.sandbox!r} is not available on this machine")
    jobs = opts.jobs or os.cpu_count() or 1
    print(f"grading {len(subs)} notebook(s) with {jobs} job(s); isolation: "
          f"{ {'full': 'user/net/pid/mount namespaces, private root', 'net': 'network namespace', 'none': 'socket guard only'}[level] }",
          file=log, flush=True)

    def one(sub: Submission) -> ModuleResult:
        t0 = time.monotonic()
        spec = specs[sub.module]
        rec = reconstruct(spec, sub.path)
        events: list[dict] = []
        timed_out, err = False, ""
        if rec.unreadable is None:
            job = {"steps": build_steps(spec, rec), "guard_modules": spec.imports,
                   "cell_timeout": opts.cell_timeout, "interrupt_grace": opts.interrupt_grace,
                   "memory_mb": opts.memory_mb, "file_mb": 512, "socket_guard": level == "none",
                   "sandbox": {"level": level, "expose": _exposed_paths()}}
            events, timed_out, err = run_worker(job, level, opts.notebook_timeout)
        res = score_module(sub.learner, spec, rec, events, opts.cell_timeout, opts.notebook_timeout, timed_out)
        if rec.unreadable is None and not any(e.get("event") in ("ready", "fatal") for e in events) \
                and not timed_out:
            res.grader_error = f"the grading worker failed: {err.strip().splitlines()[-1] if err.strip() else 'no output'}"
            for q in res.questions:
                if q.status != "manual":
                    q.status, q.score, q.message = "grader error", None, f"The grader could not run this notebook."
        res.seconds = time.monotonic() - t0
        print(f"graded {sub.learner}/{sub.module} {res.score:g}/{res.max:g} in {res.seconds:.1f} s"
              + (f"  [grader error: {res.grader_error}]" if res.grader_error else ""), file=log, flush=True)
        if on_result:
            on_result(res)
        return res

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, subs))

    summary = write_reports(out, results, opts.fail_under)
    write_feedback(out, results)
    print(f"wrote {out / 'grades.csv'}, {out / 'summary.json'} and {out / 'feedback'}/", file=log, flush=True)
    if summary["grader_errors"]:
        print(f"could not grade: {', '.join(summary['grader_errors'])}", file=log, flush=True)
        return Outcome(2, results, summary)
    if opts.fail_under is not None and summary.get("below_pass_mark"):
        for name in summary["below_pass_mark"]:
            t = summary["learners"][name]
            print(f"{name}: {t['score']:g}/{t['max']:g} = {t['percent']:g}% is under the pass mark "
                  f"of {opts.fail_under:g}%", file=log, flush=True)
        return Outcome(1, results, summary)
    return Outcome(0, results, summary)
