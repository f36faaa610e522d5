"""Run one (learner, module) job: ``python -m coursekit.grading.worker``.

The job (a ``protocol.Job``) arrives as JSON on stdin, so the hidden tests never touch the
disk; ``protocol.Event`` lines leave on stdout as things happen, so the parent keeps what was
graded even if it has to kill this process.

Each autograded question gets a fresh kernel of its own: the grader's guard
(``kernel_guard``), the instructor's setup cells and the learner's answer cells up to that
question, then the guard's *arm* step, then that question's test cell — last, so no learner
cell ever runs after hidden code arrived. A test segment passes only when its execute_reply is
``ok`` **and** the guard reported, on a pipe of its own, an authenticated completion marker for
that exact source; what the guard reports as tampering scores the question 0. Kernels of one
notebook run ``Job.parallel`` at a time; a watchdog holds the learner's whole process tree to
``Job.memory_mb`` and ``Job.max_processes``.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import sys
import tempfile
import threading
from pathlib import Path

from ..hidden_topics import outermost_line, topic_at
from . import sandbox
from .kernel import Kernel
from .kernel_env import clean_traceback
from .protocol import Event, Job, Step
from .watchdog import Watchdog



class Emitter:
    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()

    def __call__(self, **event):
        line = Event(**event).to_json()
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _tag(key: bytes, text: str) -> str:
    return hashlib.blake2b(text.encode(), key=key, digest_size=16).hexdigest()


def trusted(code: str, key: bytes, kind: str, names: tuple[str, ...] = (), fresh: bool = False) -> tuple[str, str]:
    """``code`` with the trailer the guard verifies: (source to send, its tag)."""
    body = code.strip("\n")
    tag = _tag(key, body)
    extra = f", {tuple(names)!r}, {bool(fresh)!r}" if kind == "bind" else ""
    return f'{body}\n__import__("sys").audit("coursekit.{kind}", "{tag}"{extra})', tag


class Reports:
    """The guard's authenticated lines: ``KIND TEXT MAC`` where MAC = tag(key, KIND TEXT)."""

    def __init__(self, kernel: Kernel, key: bytes):
        self.kernel, self.key, self.seen = kernel, key, 0

    def new(self) -> list[tuple[str, str]]:
        out = []
        for line in self.kernel.reports[self.seen:]:
            text, _, mac = line.rpartition(" ")
            if text and secrets.compare_digest(mac, _tag(self.key, text)):
                kind, _, rest = text.partition(" ")
                out.append((kind, rest))
        self.seen = len(self.kernel.reports)
        return out


def preamble(job: Job, key_fd: int, report_fd: int, modules: list[str] | None = None) -> str:
    src = (Path(__file__).with_name("kernel_guard.py")).read_text()
    return (
        "def __cup_setup(src, key_fd, report_fd, modules, sockets):\n"
        "    import builtins\n"
        "    ns = {'__builtins__': dict(vars(builtins)), '__name__': '_cup_guard'}\n"
        "    exec(compile(src, '<grader>', 'exec'), ns)\n"
        "    ip = get_ipython()\n"
        "    ns['_install'](key_fd, report_fd, modules, sockets, ip.user_ns, ip)\n"
        f"__cup_setup({src!r}, {key_fd}, {report_fd}, {modules if modules is not None else job.guard_modules!r}, "
        f"{bool(job.socket_guard)!r})\n"
        "del __cup_setup\n"
    )


ARM = '__import__("sys").audit("coursekit.arm")'


def run_question(job: Job, test: Step, emit: Emitter, kernels: list) -> None:
    """One question in a fresh kernel: guard, the cells before it, arm, its test cell last."""
    q = test.id
    timeout, grace = float(job.cell_timeout), float(job.interrupt_grace)
    key = secrets.token_bytes(32)
    key_r, key_w = os.pipe()
    rep_r, rep_w = os.pipe()
    os.write(key_w, key)
    os.close(key_w)
    os.set_blocking(rep_r, False)
    with tempfile.TemporaryDirectory(prefix="cup-") as root:
        try:
            try:
                kernel = Kernel(job, root, pass_fds=(key_r, rep_w), report_fd=rep_r, question=q)
            finally:
                os.close(key_r)
                os.close(rep_w)
        except Exception as exc:  # noqa: BLE001 - reported as "could not grade"
            os.close(rep_r)
            emit(event="fatal", question=q, error=f"{type(exc).__name__}: {exc}")
            return
        kernels.append(kernel)
        reports = Reports(kernel, key)
        try:
            r = kernel.run(preamble(job, key_r, rep_w, test.imports), 60, grace)
            if r["status"] != "ok":
                emit(event="fatal", question=q, error=f"grader preamble failed: {r.get('ename')}: {r.get('evalue')}")
                return
            emit(event="ready", question=q)
            tamper: list[str] = []
            learner_ran = False
            for step in job.steps:
                if step.id >= q:
                    break
                if step.role == "test" or (step.questions is not None and q not in step.questions):
                    continue
                if not _run_cell(kernel, step, q, timeout, grace, emit, key, reports, tamper, fresh=not learner_ran):
                    return
                learner_ran = learner_ran or step.role == "answer"
            _run_test(kernel, test, timeout, grace, emit, key, reports, tamper)
        finally:
            kernel.kill()
            kernel.kc.stop_channels()
            os.close(rep_r)


def _run_cell(kernel: Kernel, step: Step, q: int, timeout: float, grace: float, emit: Emitter,
              key: bytes, reports: Reports, tamper: list[str], fresh: bool) -> bool:
    """One setup or answer cell. A setup cell tells the guard what it bound; one that ran before
    any learner cell (``fresh``) also has the guard take its snapshot again, so what it imported
    and set up counts as original."""
    emit(event="start", question=q, id=step.id)
    code, tag = (trusted(step.code, key, "bind", tuple(step.binds), fresh) if step.role == "setup"
                 else (step.code, None))
    r = kernel.run(code, timeout, grace)
    ev = dict(event="step", question=q, id=step.id, status=r["status"], seconds=r["seconds"],
              output_bytes=r["output_bytes"])
    if r["status"] == "error":
        ev.update(ename=r["ename"], evalue=r["evalue"],
                  traceback=clean_traceback(r["traceback"]) if step.role == "answer" else "")
    if r.get("killed"):
        ev["killed"] = True
    for kind, text in reports.new():
        if kind == "tamper" and text not in tamper:
            tamper.append(text)
        if kind == "bound" and tag and text.startswith(tag):
            tag = None
    if tag and r["status"] == "ok":
        tamper.append("changed how the notebook runs its cells: one of the notebook's own cells did not "
                      "finish as published")
    emit(**ev)
    return kernel.alive


def _run_test(kernel: Kernel, test: Step, timeout: float, grace: float, emit: Emitter, key: bytes,
              reports: Reports, tamper: list[str]) -> None:
    q = test.id
    emit(event="start", question=q, id=q)
    ev: dict = dict(event="step", question=q, id=q, status="ok", seconds=0.0, output_bytes=0, restored=[])
    ev["restored"] = []

    def arm() -> dict:
        """The guard puts back what learner code changed; before every part of the test."""
        a = kernel.run(ARM, 30, grace)
        restored = None
        for kind, text in reports.new():
            if kind == "restored":
                restored = [n for n in text.split("\t") if n]
            elif kind == "tamper" and text not in tamper:
                tamper.append(text)
        if restored is None and a["status"] not in ("died", "timeout"):
            why = "stopped the grader from preparing the tests (its guard step did not run)"
            if why not in tamper:
                tamper.append(why)
        for n in restored or []:
            if n not in ev["restored"] and not hidden_seen:  # after hidden code: no learner-chosen names
                ev["restored"].append(n)
        return a

    hidden_seen = False
    for k, seg in enumerate(test.segments):
        a = arm()
        if a["status"] in ("died", "timeout"):
            ev.update(status=a["status"], segment=k, hidden=seg.kind == "hidden", ename="")
            break
        hidden = hidden_seen = hidden_seen or seg.kind == "hidden"
        code, tag = trusted(seg.code, key, "done")
        r = kernel.run(code, timeout, grace, capture=not hidden)
        ev["seconds"] += r["seconds"]
        ev["output_bytes"] += r["output_bytes"]
        done = False
        for kind, text in reports.new():
            if kind == "done" and text == tag:
                done = True
            elif kind == "tamper" and text not in tamper:
                tamper.append(text)
        if r["status"] == "ok" and not done:
            r = dict(r, status="error", ename="GradingError", evalue="")
            ev["incomplete"] = True
        if r["status"] != "ok":
            ev.update(status=r["status"], segment=k, hidden=hidden, ename=r.get("ename", ""))
            if not hidden:  # hidden-test messages, tracebacks and output never leave this process
                ev.update(evalue=r.get("evalue", ""), traceback=clean_traceback(r.get("traceback", [])),
                          output=r.get("text", ""))
            else:  # ... only the author's `# about:` label of the part that failed
                about = topic_at(seg.code, outermost_line(r.get("traceback") or []))
                if about:
                    ev["about"] = about
            if r.get("killed"):
                ev["killed"] = True
            break
    if tamper:
        ev["tamper"] = tamper
    emit(**ev)


def run_job(job: Job, emit: Emitter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tests = [s for s in job.steps if s.role == "test"]
    kernels: list[Kernel] = []
    with ThreadPoolExecutor(max_workers=max(1, int(job.parallel))) as pool:
        list(pool.map(lambda t: run_question(job, t, emit, kernels), tests))
    emit(event="done")


def main() -> int:
    sandbox.not_dumpable()  # before the job (and its hidden tests) is read
    job = Job.from_json(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    emit = Emitter(out)
    try:
        info = sandbox.enter(job.sandbox or {})
    except Exception as exc:  # noqa: BLE001
        emit(event="fatal", error=f"sandbox setup failed: {type(exc).__name__}: {exc}")
        return 0
    emit(event="sandbox", **info)
    try:  # PR_SET_CHILD_SUBREAPER: what the kernels start stays below this process
        ctypes_libc = sandbox._libc()
        ctypes_libc.prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    dog = Watchdog(job, emit)
    dog.start()
    try:
        run_job(job, emit)
    finally:
        dog.stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
