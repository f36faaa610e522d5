"""Turn a worker's per-cell results into per-question scores and messages.

Only the execute_reply status (plus the grader's completion marker) decides
pass or fail. Messages name the learner's own cells and the visible tests; a
failing hidden test is reported by exception type only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .reconstruct import Reconstruction
from .source import ModuleSpec, SourceCell

OUTPUT_NOTE_BYTES = 1_000_000


@dataclass
class Question:
    question: str
    max: float
    status: str  # passed|failed|error|timeout|not attempted|kernel died|manual|grader error
    score: float | None
    message: str = ""
    detail: str = ""  # a traceback from the learner's own code or a visible test
    notes: list[str] = field(default_factory=list)
    answer_text: str | None = None  # manual cells: the learner's answer, for the rubric


@dataclass
class ModuleResult:
    learner: str
    module: str
    questions: list[Question]
    notes: list[str]
    seconds: float = 0.0
    grader_error: str | None = None
    sandbox: str = ""

    @property
    def score(self) -> float:
        return sum(q.score or 0 for q in self.questions if q.status != "manual")

    @property
    def max(self) -> float:
        return sum(q.max for q in self.questions if q.status != "manual")


def _describe(spec: ModuleSpec, index: int) -> str:
    c = spec.cells[index]
    name = f"`{c.grade_id}`" if c.grade_id else f"number {index + 1}"
    return {"answer": f"your answer cell {name}", "manual": f"your answer cell {name}",
            "setup": f"the notebook's own cell {name}", "test": f"the test cell {name}"}.get(c.role, f"cell {name}")


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def score_module(learner: str, spec: ModuleSpec, rec: Reconstruction, events: list[dict],
                 cell_timeout: float, notebook_timeout: float, timed_out: bool) -> ModuleResult:
    res = ModuleResult(learner, spec.module_id, [], list(rec.notes))
    by_id = {e["id"]: e for e in events if e.get("event") == "step"}
    fatal = next((e["error"] for e in events if e.get("event") == "fatal"), None)
    sandbox = next((e for e in events if e.get("event") == "sandbox"), None)
    res.sandbox = sandbox.get("level", "") if sandbox else ""
    started = [e["id"] for e in events if e.get("event") == "start"]
    done = any(e.get("event") == "done" for e in events)

    # Why did the run stop early, if it did?
    stop_reason = None
    if rec.unreadable is None and not done and fatal is None:
        last = started[-1] if started else None
        if timed_out:
            where = f" while running {_describe(spec, last)}" if last is not None else ""
            stop_reason = ("timeout", f"The notebook hit the grader's time limit of {notebook_timeout:g} s{where}; "
                                      "the tests after that point could not run.")
        elif last is not None and last in by_id and by_id[last].get("status") == "died":
            stop_reason = ("kernel died", f"The kernel died while running {_describe(spec, last)} "
                                          "(did the code call os._exit() or crash the interpreter?); "
                                          "the tests after that point could not run.")
        elif last is not None and last in by_id and by_id[last].get("killed"):
            stop_reason = ("timeout", f"{_describe(spec, last).capitalize()} ran past the {cell_timeout:g} s "
                                      "limit and did not stop when interrupted, so the grader stopped the kernel; "
                                      "the tests after that point could not run.")
        else:
            where = f" while running {_describe(spec, last)}" if last is not None else ""
            stop_reason = ("kernel died", f"The kernel stopped unexpectedly{where}; "
                                          "the tests after that point could not run.")
    if fatal:
        res.grader_error = fatal

    for c in spec.cells:
        if c.index in by_id and c.role in ("answer", "setup"):
            ev = by_id[c.index]
            if ev.get("output_bytes", 0) > OUTPUT_NOTE_BYTES:
                res.notes.append(f"{_describe(spec, c.index).capitalize()} printed "
                                 f"{_fmt_bytes(ev['output_bytes'])} of output; the grader discarded it.")

    for c in spec.graded:
        if c.role == "manual":
            if rec.unreadable is not None:
                msg = f"could not read your notebook: {rec.unreadable}"
            elif c.grade_id not in rec.answers:
                msg = "Graded by your instructor; the answer cell is missing from your notebook."
            elif c.grade_id in rec.untouched:
                msg = "Graded by your instructor; not attempted yet (the answer cell still holds the starter text)."
            else:
                msg = "Graded by your instructor."
            q = Question(c.grade_id, c.points, "manual", None, msg)
            q.answer_text = rec.answers.get(c.grade_id)
            res.questions.append(q)
            continue
        res.questions.append(_score_test(spec, c, rec, by_id, fatal, stop_reason, cell_timeout))
    return res


def _answer_problems(spec: ModuleSpec, c: SourceCell, by_id: dict, cell_timeout: float) -> tuple[str, str]:
    for gid in c.answers:
        a = spec.by_id(gid)
        ev = by_id.get(a.index) if a else None
        if not ev:
            continue
        if ev.get("status") == "error":
            return (f"Your answer cell `{gid}` raised {ev.get('ename')}: {ev.get('evalue', '')[:300]}",
                    ev.get("traceback", ""))
        if ev.get("status") == "timeout":
            return (f"Your answer cell `{gid}` was still running after {cell_timeout:g} s and was interrupted "
                    "(an infinite loop, or a simulation that never finishes?).", "")
    return "", ""


def _score_test(spec, c, rec, by_id, fatal, stop_reason, cell_timeout) -> Question:
    q = Question(c.grade_id, c.points, "error", 0.0)
    if rec.unreadable is not None:
        q.message = f"could not read your notebook: {rec.unreadable}"
        return q
    if fatal:
        q.status, q.score, q.message = "grader error", None, f"The grader could not run this notebook: {fatal}"
        return q
    ev = by_id.get(c.index)
    attempted = [g for g in c.answers if g not in rec.missing and g not in rec.untouched]
    if ev is None:
        q.status, q.message = stop_reason or ("error", "This test was not run.")
        return q
    if ev.get("restored"):
        names = ", ".join(f"`{n}`" for n in ev["restored"][:12])
        q.notes.append(f"Before running this test the grader restored what your code had replaced: {names}. "
                       "Tests always use the original helpers.")
    status = ev.get("status")
    if status == "ok":
        q.status, q.score, q.message = "passed", c.points, "All tests passed."
        return q
    where = "a hidden test" if ev.get("hidden") else "a visible test"
    problem, trace = _answer_problems(spec, c, by_id, cell_timeout)
    if c.answers and not attempted:
        q.status = "not attempted"
        q.message = "Not attempted: the answer cell still holds the starter code." if not any(
            g in rec.missing for g in c.answers) else "Not attempted: the answer cell is missing from your notebook."
        return q
    if status == "died":
        q.status = "kernel died"
        q.message = (f"The kernel died while running {where} of this question (did your code call os._exit() "
                     "or crash the interpreter?). It counts as failed; the tests after it could not run.")
    elif status == "timeout":
        q.status = "timeout"
        q.message = (f"{where.capitalize()} did not finish within {cell_timeout:g} s and was stopped "
                     "(an infinite loop, or a simulation that never finishes?).")
        if ev.get("killed"):
            q.message += " It ignored the interrupt, so the kernel was stopped; the tests after it could not run."
    elif ev.get("tampered"):
        q.message = ("The test did not run to completion: your code seems to interfere with how the notebook "
                     "runs cells (for example by replacing IPython's run_cell).")
    elif ev.get("ename") == "NotImplementedError":
        q.status, q.message = "not attempted", "Not attempted: your code still raises NotImplementedError."
    elif ev.get("hidden"):
        q.status = "failed" if ev.get("ename") == "AssertionError" else "error"
        passes = "passes the visible tests but " if ev.get("segment", 0) > 0 else ""
        about = f" The part that failed checks {ev['about']}." if ev.get("about") else ""
        q.message = (f"Your answer {passes}fails a hidden test ({ev.get('ename')}).{about} "
                     "Hidden tests try cases the visible ones don't: re-read the question for edge cases.")
    else:
        q.status = "failed" if ev.get("ename") == "AssertionError" else "error"
        ev_text = f": {ev.get('evalue')}" if ev.get("evalue") else ""
        output = (ev.get("output") or "").strip()
        if output and ev.get("ename") == "AssertionError":
            # `assert check(...)` failed: what check printed says what to fix; its traceback doesn't
            q.message = "A visible check does not pass yet. This is what it reported:"
            q.detail = output
        else:
            q.message = f"A visible test failed with {ev.get('ename')}{ev_text}"
            q.detail = "\n\n".join(x for x in (output, ev.get("traceback", "")) if x)
    if problem:
        q.message = problem + " " + q.message
        q.detail = trace or q.detail
    return q
