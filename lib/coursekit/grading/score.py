"""Turn a worker's per-cell results into per-question scores and messages.

Only the execute_reply status (plus the grader's completion marker) decides
pass or fail. Messages name the learner's own cells and the visible tests; a
failing hidden test is reported by exception type only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .reconstruct import Reconstruction
from .source import ModuleSpec, SourceCell

#: Exceptions that mean "the answer is wrong" (status failed), not "the code crashed" (error):
#: coursekit's Mismatch, which content helpers raise, is an AssertionError.
ASSERTION_NAMES = frozenset({"AssertionError", "Mismatch"})

OUTPUT_NOTE_BYTES = 1_000_000


@dataclass
class Question:
    question: str
    max: float
    #: passed|failed|error|timeout|not attempted|kernel died|grader error; manual questions:
    #: manual (not graded yet) | graded (by a person, in formgrader) | not attempted; missing
    status: str
    score: float | None
    message: str = ""
    detail: str = ""  # a traceback from the learner's own code or a visible test
    notes: list[str] = field(default_factory=list)
    answer_text: str | None = None  # manual cells: the learner's answer, for the rubric
    manual: bool = False  # graded by a person (a reflective answer), not by a test
    comment: str = ""  # manual questions: the grader's comment from nbgrader's gradebook


@dataclass
class ModuleResult:
    learner: str
    module: str
    questions: list[Question]
    notes: list[str]
    seconds: float = 0.0
    grader_error: str | None = None
    sandbox: str = ""
    missing: bool = False  # no notebook was submitted for this module

    @property
    def score(self) -> float:
        """Autograded points earned (manual questions are in ``manual_score``)."""
        return sum(q.score or 0 for q in self.questions if not q.manual)

    @property
    def max(self) -> float:
        return sum(q.max for q in self.questions if not q.manual)

    @property
    def manual_score(self) -> float:
        """Points of manual questions that have a score: graded by hand, or 0 when not attempted."""
        return sum(q.score or 0 for q in self.questions if q.manual)

    @property
    def manual_max(self) -> float:
        return sum(q.max for q in self.questions if q.manual)

    @property
    def manual_pending(self) -> int:
        """Manual questions nobody has graded yet."""
        return sum(1 for q in self.questions if q.manual and q.status == "manual")


NOT_GRADED_YET = "Not graded yet: your instructor grades this answer by hand."
#: nbgrader's autograde gives an unchanged answer cell 0 without asking a grader: the same words here
NOT_ATTEMPTED_MANUAL = ("Not attempted: the answer cell still holds the starter text, so it scores 0; "
                        "write your own answer in it.")


def missing_module(learner: str, spec: ModuleSpec) -> ModuleResult:
    """A module a learner did not submit: every question ``missing``, with no score (never 0)."""
    qs = [Question(c.grade_id, c.points, "missing", None, "No notebook was submitted for this module.",
                   manual=c.role == "manual") for c in spec.graded]
    return ModuleResult(learner, spec.module_id, qs, [], missing=True)


def _describe(spec: ModuleSpec, index: int) -> str:
    c = spec.cells[index]
    name = f"`{c.grade_id}`" if c.grade_id else f"number {index + 1}"
    return {"answer": f"your answer cell {name}", "manual": f"your answer cell {name}",
            "setup": f"the notebook's own cell {name}", "test": f"the test cell {name}"}.get(c.role, f"cell {name}")


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _plain(e) -> dict:
    return {k: v for k, v in vars(e).items() if v is not None}


def _stop_reason(spec: ModuleSpec, evs: list[dict], by_id: dict, timed_out: bool, limit: dict | None,
                 cell_timeout: float, notebook_timeout: float) -> tuple[str, str] | None:
    """Why this question's kernel stopped before its test finished, in plain words."""
    started = [e["id"] for e in evs if e["event"] == "start"]
    last = started[-1] if started else None
    where = f" while running {_describe(spec, last)}" if last is not None else ""
    if limit is not None:
        amount = f"{limit.get('amount', 0):g} MB" if limit.get("what") == "memory" else \
            f"{limit.get('amount', 0):g} processes and threads"
        return ("error", f"Your code's processes together used {amount}, over the grader's limit for one "
                         f"learner, so the grader stopped them{where}.")
    if last is not None and last in by_id and by_id[last].get("killed"):
        what = "Your cell" if spec.cells[last].role in ("answer", "manual") else _describe(spec, last).capitalize()
        name = f" `{spec.cells[last].grade_id}`" if spec.cells[last].role in ("answer", "manual") else ""
        return ("timeout", f"{what}{name} ran past {cell_timeout:g} s and was stopped: it did not stop when "
                           "interrupted, so the grader stopped its kernel (an infinite loop that catches "
                           "KeyboardInterrupt?).")
    if timed_out:
        return ("timeout", f"The notebook hit the grader's time limit of {notebook_timeout:g} s{where}; "
                           "this question's test could not run.")
    if last is not None and last in by_id and by_id[last].get("status") == "died":
        return ("kernel died", f"The kernel died while running {_describe(spec, last)} "
                               "(did the code call os._exit() or crash the interpreter?); "
                               "this question's test could not run.")
    return ("kernel died", f"The kernel stopped unexpectedly{where}; this question's test could not run.")


def score_module(learner: str, spec: ModuleSpec, rec: Reconstruction, events: list,
                 cell_timeout: float, notebook_timeout: float, timed_out: bool) -> ModuleResult:
    """``events``: the worker's ``protocol.Event`` objects; each question was run in its own kernel."""
    res = ModuleResult(learner, spec.module_id, [], list(rec.notes))
    events = [_plain(e) for e in events]
    fatal = next((e["error"] for e in events if e["event"] == "fatal"), None)
    sandbox = next((e for e in events if e["event"] == "sandbox"), None)
    res.sandbox = sandbox.get("level", "") if sandbox else ""
    limits = [e for e in events if e["event"] == "limit"]
    if fatal:
        res.grader_error = fatal

    first: dict[int, dict] = {}  # a cell's result in the lowest question's kernel that ran it (deterministic)
    for e in sorted(events, key=lambda e: e.get("question") if e.get("question") is not None else -1):
        if e["event"] == "step" and e["id"] not in first:
            first[e["id"]] = e
    for c in spec.cells:
        if c.index in first and c.role in ("answer", "setup"):
            ev = first[c.index]
            if ev.get("output_bytes", 0) > OUTPUT_NOTE_BYTES:
                res.notes.append(f"{_describe(spec, c.index).capitalize()} printed "
                                 f"{_fmt_bytes(ev['output_bytes'])} of output; the grader discarded it.")

    for c in spec.graded:
        if c.role == "manual":
            # one status for an untouched reflective answer in both graders: nbgrader's autograde
            # gives an unchanged solution cell 0 (no manual grade needed); so does this one
            q = Question(c.grade_id, c.points, "manual", None, NOT_GRADED_YET, manual=True)
            q.answer_text = rec.answers.get(c.grade_id)
            if rec.unreadable is not None:
                q.status, q.score, q.message = "error", 0.0, f"could not read your notebook: {rec.unreadable}"
            elif c.grade_id not in rec.answers:
                q.status, q.score = "not attempted", 0.0
                q.message = "Not attempted: the answer cell is missing from your notebook, so it scores 0."
            elif c.grade_id in rec.untouched:
                q.status, q.score, q.message = "not attempted", 0.0, NOT_ATTEMPTED_MANUAL
            res.questions.append(q)
            continue
        evs = [e for e in events if e.get("question") == c.index]
        limit = next((e for e in limits if e.get("question") in (c.index, None)), None)
        by_id = {e["id"]: e for e in evs if e["event"] == "step"}
        stop = None
        if rec.unreadable is None and fatal is None and c.index not in by_id:
            stop = _stop_reason(spec, evs, by_id, timed_out, limit, cell_timeout, notebook_timeout)
        q = _score_test(spec, c, rec, by_id, fatal, stop, cell_timeout)
        if limit is not None and c.index in by_id and q.status != "passed" and by_id[c.index].get("status") == "died":
            q.status, q.message = "error", stop[1] if stop else _stop_reason(
                spec, evs, by_id, timed_out, limit, cell_timeout, notebook_timeout)[1]
        res.questions.append(q)
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
            return (f"Your answer cell `{gid}` ran past {cell_timeout:g} s and was stopped "
                    "(an infinite loop, or a simulation that never finishes?).", "timeout")
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
        more = f" and {len(ev['restored']) - 12} more" if len(ev["restored"]) > 12 else ""
        q.notes.append(f"Before running this test the grader restored what your code had replaced: {names}{more}. "
                       "The test ran with the originals.")
    status = ev.get("status")
    if ev.get("tamper") and attempted:
        q.status, q.score = "failed", 0.0
        q.message = ("No points: while this question was graded your code " + "; ".join(ev["tamper"][:3])
                     + ". The grader cannot trust a test result after that, so this question scores 0. "
                       "Answer the question with plain code that does not reach into the interpreter or the grader.")
        return q
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
    elif ev.get("incomplete"):
        q.status = "failed"
        q.message = ("The test did not run to completion: the grader never saw it reach its end (does your code "
                     "change how the notebook runs cells, for example by replacing IPython's or the kernel's "
                     "methods?). It counts as failed.")
    elif ev.get("ename") == "NotImplementedError":
        q.status, q.message = "not attempted", "Not attempted: your code still raises NotImplementedError."
    elif ev.get("hidden"):
        q.status = "failed" if ev.get("ename") in ASSERTION_NAMES else "error"
        passes = "passes the visible tests but " if ev.get("segment", 0) > 0 else ""
        about = f" The part that failed checks {ev['about']}." if ev.get("about") else ""
        q.message = (f"Your answer {passes}fails a hidden test ({ev.get('ename')}).{about} "
                     "Hidden tests try cases the visible ones don't: re-read the question for edge cases.")
    else:
        q.status = "failed" if ev.get("ename") in ASSERTION_NAMES else "error"
        ev_text = f": {ev.get('evalue')}" if ev.get("evalue") else ""
        output = (ev.get("output") or "").strip()
        if output and ev.get("ename") in ASSERTION_NAMES:
            # `assert check(...)` failed: what check printed says what to fix; its traceback doesn't
            q.message = "A visible check does not pass yet. This is what it reported:"
            q.detail = output
        else:
            q.message = f"A visible test failed with {ev.get('ename')}{ev_text}"
            q.detail = "\n\n".join(x for x in (output, ev.get("traceback", "")) if x)
    if problem:
        q.message = problem + " " + q.message
        if trace == "timeout":  # the test only saw what the stopped cell left undefined: say just that
            q.status, q.message, q.detail, trace = "timeout", problem, "", ""
        q.detail = trace or q.detail
    return q
