"""The learner's loop: ``start``, ``check``, ``hint``, ``reveal``, ``progress``.

``check`` runs a question's visible checks against the learner's namespace (the
notebook's globals) and says — named check by named check — what was expected and
what came back. Untouched starter code reads as "not attempted", never as a crash.

>>> import os, tempfile
>>> os.environ["COURSEKIT_PROGRESS"] = os.path.join(tempfile.mkdtemp(), "p.json")
>>> from coursekit.questions import Module, Question, expect, use_registry
>>> def check_double(ns):
...     '''double(4) is 8'''
...     expect("double(4)", ns["double"](4), 8, advice="Multiply by two; don't add two.")
>>> q = Question(id="dbl", title="Double it", checks=[check_double], hints=["What is 4 + 4?"])
>>> with use_registry([Module(id="90_demo", title="Demo", questions=[q])]):
...     _ = start("90_demo")
...     report = check("dbl", ns={"double": lambda x: x + 2})
• Module 90_demo · Demo
  1 question: dbl.
  After each exercise run check("<question>"); hint("<question>") if you are stuck.
✗ dbl — Double it: 0 of 1 checks pass
  ✗ double(4): expected 8, got 6. Multiply by two; don't add two.
  Stuck? hint("dbl")
>>> bool(report)
False
>>> del os.environ["COURSEKIT_PROGRESS"]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from .check_report import CheckReport, CheckResult, Status
from .display import Box, Renderable, show
from .learner_frames import caller_namespace as _caller_namespace
from .learner_frames import first_line as _first_line
from .learner_frames import result_is_asserted as _result_is_asserted
from .learner_frames import where as _where
from .progress_store import ProgressStore, ProgressView, progress_view
from .questions import Mismatch, Module, NotAttempted, Question, check_name, find_question, load_module, short_repr
from .rubrics import get_rubric
from .solutions import reference_answer, solutions_dir

__all__ = [
    "CheckReport",
    "CheckResult",
    "Session",
    "check",
    "hint",
    "progress",
    "reference_answer",
    "reset_session",
    "reveal",
    "session",
    "solutions_dir",
    "start",
]

STUB_MARKERS = ("YOUR ANSWER HERE", "YOUR CODE HERE", "raise NotImplementedError")


# ----------------------------------------------------------------------------- session state


@dataclass
class Session:
    """What this kernel remembers: the started module, passes, and hint tiers seen."""

    module_id: str | None = None
    passed: set[tuple[str, str]] = field(default_factory=set)  # whose latest check passed
    checked: set[tuple[str, str]] = field(default_factory=set)  # checked at least once in this kernel
    hint_tiers: dict[tuple[str, str], int] = field(default_factory=dict)
    shown: dict[tuple[str, str], str] = field(default_factory=dict)  # what the check cell last showed, as text
    store: ProgressStore = field(default_factory=ProgressStore)


session = Session()


def reset_session(store: ProgressStore | None = None) -> Session:
    """Forget this kernel's state (for tests); returns the fresh session."""
    global session
    session = Session(store=store or ProgressStore())
    return session


# ----------------------------------------------------------------------------- namespaces


class LearnerNamespace(dict):  # type: ignore[type-arg]
    """A copy of the learner's globals whose missing names mean "not attempted yet"."""

    def __missing__(self, key: str) -> Any:
        raise NotAttempted(f"`{key}` isn't defined yet — run the cell that defines it, then check again.")


# ----------------------------------------------------------------------------- the API


def start(module_id: str) -> Renderable:
    """Bind this kernel to a module so ``check("q")`` knows where ``q`` lives.

    >>> from coursekit.questions import Module, Question, use_registry
    >>> with use_registry([Module(id="91_demo", title="Demo", questions=[Question(id="a", title="A")])]):
    ...     _ = start("91_demo")
    • Module 91_demo · Demo
      1 question: a.
      After each exercise run check("<question>"); hint("<question>") if you are stuck.

    The title is shown as written, on a line of its own, so its own punctuation ("LRU: is it
    really O(1)?") never runs into the question count:

    >>> with use_registry([Module(id="92_demo", title="LRU: is it really O(1)?",
    ...                          questions=[Question(id="a", title="A"), Question(id="b", title="B")])]):
    ...     _ = start("92_demo")
    • Module 92_demo · LRU: is it really O(1)?
      2 questions: a, b.
      After each exercise run check("<question>"); hint("<question>") if you are stuck.
    """
    try:
        mod = load_module(module_id)
    except KeyError as exc:
        return show(Box("error", f"Can't start {module_id!r}", [str(exc.args[0])]))
    session.module_id = mod.id
    n = len(mod.questions)
    title = f"Module {mod.id} · {mod.title.strip()}" if mod.title.strip() else f"Module {mod.id}"
    count = f"{n} question{'s' if n != 1 else ''}" + (f": {', '.join(mod.question_ids)}." if n else ".")
    return show(
        Box(
            "info",
            title,
            [count, 'After each exercise run check("<question>"); hint("<question>") if you are stuck.'],
        )
    )


def _resolve(question_id: str) -> tuple[Module, Question] | str:
    try:
        return find_question(question_id, session.module_id if ":" not in question_id else None)
    except KeyError as exc:
        if session.module_id is not None and ":" not in question_id:
            try:
                return find_question(question_id)  # maybe it lives in another module
            except KeyError:
                pass
        return str(exc.args[0])


def _run_code_checks(mod: Module, q: Question, ns: dict[str, Any]) -> CheckReport:
    learner = LearnerNamespace(ns)
    results: list[CheckResult] = []
    status: Status = "passed"
    checks = list(q.checks)
    for i, fn in enumerate(checks):
        name = check_name(fn)
        try:
            fn(learner)
        except NotAttempted as exc:
            results.append(CheckResult(name, "not_attempted", f"Not attempted yet: {exc}"))
            status = "not_attempted"
        except NotImplementedError as exc:
            where = _where(exc.__traceback__)
            results.append(
                CheckResult(
                    name,
                    "not_attempted",
                    "Not attempted yet: the starter code still raises NotImplementedError. Replace it with your "
                    "code, run the cell, then check again.",
                    where=where,
                )
            )
            status = "not_attempted"
        except Mismatch as exc:
            got = f"got {short_repr(exc.got)}"
            results.append(
                CheckResult(exc.name or name, "failed", f"expected {short_repr(exc.expected)}, {got}.", exc.advice)
            )
            status = "failed"
        except AssertionError as exc:
            results.append(CheckResult(name, "failed", _first_line(exc) or "the check's condition does not hold."))
            status = "failed"
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # learner code: report it, never crash the cell
            results.append(
                CheckResult(
                    name,
                    "error",
                    f"your code raised {type(exc).__name__}" + (f": {_first_line(exc)}" if _first_line(exc) else ""),
                    where=_where(exc.__traceback__),
                )
            )
            status = "error"
        else:
            results.append(CheckResult(name, "passed"))
            continue
        return CheckReport(q.id, status, module=mod, question=q, results=results, remaining=len(checks) - i - 1)
    if not checks:
        return CheckReport(q.id, "error", module=mod, question=q, message="This question has no automatic checks.")
    return CheckReport(q.id, "passed", module=mod, question=q, results=results)


def _record_own_figures(mod: Module, q: Question, ns: dict[str, Any]) -> bool:
    """Measure the learner's passing code with the question's ``figures`` hook and record the result
    (:func:`coursekit.figures.record_figures`); whether anything was recorded.

    The hook runs the learner's code again, so anything may happen: whatever it raises, or a result
    that is not a list of :class:`~coursekit.figures.Figure`, records nothing and costs the check
    nothing. A figure without a ``source`` is labelled as measured from the learner's code.
    """
    from dataclasses import replace

    from .figures import Figure, record_figures

    assert q.figures is not None
    try:
        figures = list(q.figures(LearnerNamespace(ns)))
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - learner code: no figure, never a broken check
        return False
    if not figures or not all(isinstance(f, Figure) for f in figures):
        return False
    source = f'your code, measured when check("{q.id}") passed'
    record_figures(mod.id, [f if f.source else replace(f, source=source) for f in figures], question=q.id)
    return True


def _is_stub(text: str, q: Question) -> str | None:
    """Why a reflective answer counts as not attempted, or None.

    >>> q = Question(id="r", title="R", kind="reflect", rubric="apology", placeholder="Write it here.")
    >>> _is_stub("Write it here.", q)
    "your answer still contains the starter text 'Write it here.' — replace it with your own words."
    >>> _is_stub("We are sorry.", q) is None
    True
    """
    if not text.strip():
        return "your answer is empty."
    markers = list(STUB_MARKERS)
    if q.placeholder and q.placeholder.strip():
        markers.append(q.placeholder.strip())
    for marker in markers:
        if marker.lower() in text.lower():
            return f"your answer still contains the starter text {marker[:60]!r} — replace it with your own words."
    return None


def _run_reflect(mod: Module, q: Question, ns: dict[str, Any]) -> CheckReport:
    name = q.answer_name
    if name not in ns:
        return CheckReport(
            q.id, "not_attempted", module=mod, question=q,
            message=f"Not attempted yet: `{name}` isn't defined — write your answer in its cell and run it.",
        )
    value = ns[name]
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
        return CheckReport(
            q.id, "failed", module=mod, question=q,
            message=f"`{name}` should be text in quotes (a string), not {type(value).__name__}.",
        )
    if not texts:
        return CheckReport(q.id, "not_attempted", module=mod, question=q, message="Not attempted yet: no replies yet.")
    for t in texts:
        why = _is_stub(t, q)
        if why:
            return CheckReport(q.id, "not_attempted", module=mod, question=q, message=f"Not attempted yet: {why}")
    rubric = get_rubric(q.rubric or "")
    return CheckReport(q.id, "answered", module=mod, question=q, feedback=[rubric.evaluate(t) for t in texts])


def check(question_id: str, *, ns: dict[str, Any] | None = None, quiet: bool = False,
          brief: bool | None = None) -> CheckReport:
    """Run the question's visible checks against your notebook and show the result.

    ``ns`` defaults to the notebook's namespace (IPython's user namespace, else the
    caller's globals). ``quiet=True`` returns the report without displaying it.
    Never raises because of your code: errors become part of the report.

    ``assert check("q"), "…"`` is the autograder test cell's call, right after the learner's own
    ``check("q")`` cell (``brief`` defaults to "is my result asserted?"). When this kernel's check
    cell has just shown this very report, the test cell shows nothing again: the assertion's
    one-line message points to the feedback above, so a learner running the notebook top to bottom
    reads it once. Otherwise (the check cell was skipped, the answer changed since, or ``coursekit
    grade`` runs it: ``COURSEKIT_GRADING``, whose feedback quotes what the test cell printed) it
    shows the report in full. The test cell still fails whenever the check fails.
    """
    if brief is None:
        brief = _result_is_asserted(sys._getframe(1))
    namespace = ns if ns is not None else _caller_namespace()
    resolved = _resolve(question_id)
    if isinstance(resolved, str):
        report = CheckReport(question_id, "unknown", message=resolved)
    else:
        mod, q = resolved
        report = _run_reflect(mod, q, namespace) if q.kind == "reflect" else _run_code_checks(mod, q, namespace)
        key = (mod.id, q.id)
        session.checked.add(key)
        if report.passed:
            session.passed.add(key)
        else:
            session.passed.discard(key)  # reveal follows the current answer, not the best one so far
        progress_status = {"passed": "passed", "answered": "answered", "not_attempted": "not_attempted"}.get(
            report.status, "failed"
        )
        session.store.record(mod.id, q.id, progress_status, passed=report.passed)
        if report.passed and q.figures is not None and not os.environ.get("COURSEKIT_GRADING"):
            _record_own_figures(mod, q, namespace)  # nobody reads them while grading: save the time
        if not quiet:
            text = report.text()
            if not brief:
                session.shown[key] = text  # what the learner's own check cell shows
            elif session.shown.get(key) == text and not os.environ.get("COURSEKIT_GRADING"):
                return report  # the check cell above shows this very report: once is enough
    return report if quiet else show(report)  # type: ignore[return-value]


def hint(question_id: str, tier: int | None = None) -> Renderable:
    """Show the next hint tier for a question (or tier ``tier``, counting from 1).

    >>> from coursekit.questions import Module, Question, use_registry
    >>> q = Question(id="h", title="H", hints=["What evicts first?", "Think of an OrderedDict."])
    >>> with use_registry([Module(id="92_demo", title="Demo", questions=[q])]):
    ...     _ = hint("h"); _ = hint("h"); _ = hint("h")
    • Hint 1 of 2 for h: What evicts first?
      hint("h") again for a more specific one.
    • Hint 2 of 2 for h: Think of an OrderedDict.
      That was the last hint. Still stuck? Ask your instructor or a neighbour.
    • No more hints for h: you've seen all 2. hint("h", 1) shows one again.
    """
    resolved = _resolve(question_id)
    if isinstance(resolved, str):
        return show(Box("error", resolved))
    mod, q = resolved
    hints = list(q.hints)
    n = len(hints)
    key = (mod.id, q.id)
    if n == 0:
        return show(Box("info", f"No hints for {q.id}. Re-read the question and the message check() gives."))
    if tier is None:
        seen = session.hint_tiers.get(key, 0)
        if seen >= n:
            return show(Box("info", f'No more hints for {q.id}: you\'ve seen all {n}. hint("{q.id}", 1) shows one again.'))
        tier = seen + 1
    if not 1 <= tier <= n:
        return show(Box("info", f"{q.id} has {n} hint{'s' if n != 1 else ''}; ask for 1 to {n}."))
    session.hint_tiers[key] = max(session.hint_tiers.get(key, 0), tier)
    follow = (
        f'hint("{q.id}") again for a more specific one.'
        if tier < n
        else "That was the last hint. Still stuck? Ask your instructor or a neighbour."
    )
    return show(Box("info", f"Hint {tier} of {n} for {q.id}: {hints[tier - 1]}", [follow]))


# ----------------------------------------------------------------------------- reveal


def reveal(question_id: str) -> Renderable:
    """Show the reference answer — only while the latest ``check()`` of it in this kernel passes.

    In a graded workshop cohort (``COURSEKIT_MODE=cohort``, set by ``make hub``) it reads and shows
    nothing: the instructor releases reference answers after grading.

    >>> from coursekit.questions import Module, Question, use_registry
    >>> with use_registry([Module(id="93_demo", title="Demo", questions=[Question(id="r", title="R")])]):
    ...     _ = reveal("r")
    🔒 Reference answer for r is locked
      The reference answer unlocks once your check passes: run check("r") first.
    """
    resolved = _resolve(question_id)
    if isinstance(resolved, str):
        return show(Box("error", resolved))
    mod, q = resolved
    if os.environ.get("COURSEKIT_MODE") == "cohort":
        # a graded workshop cohort: nothing is read, so nothing a learner can reach holds the answers
        return show(Box("info", f"Reference answer for {q.id}", ["Your instructor releases reference answers after grading."]))
    key = (mod.id, q.id)
    if key not in session.passed:
        earlier = session.store.passed_before(mod.id, q.id)
        what = "your answer meets the checklist" if q.kind == "reflect" else "your check passes"
        lines = [f'The reference answer unlocks once {what}: run check("{q.id}") first.']
        if key in session.checked:
            lines = [f'Your latest check("{q.id}") does not pass yet; the reference answer unlocks once {what}.']
            if q.hints:
                lines.append(f'Stuck? hint("{q.id}") gives a nudge without giving it away.')
        elif earlier:
            lines = [f'You passed this before; run check("{q.id}") again in this kernel to unlock it.']
        elif q.hints:
            lines.append(f'Stuck? hint("{q.id}") gives a nudge without giving it away.')
        return show(Box("locked", f"Reference answer for {q.id} is locked", lines))
    answer = reference_answer(mod.id, q.id)
    if answer is None:
        if solutions_dir() is None:
            msg = "Your instructor shares reference answers after the deadline — nothing more to unlock here."
        else:
            msg = "There is no reference answer for this question in the solutions notebook."
        return show(Box("info", f"Reference answer for {q.id}", [msg]))
    label = "One way to write it" if q.kind == "reflect" else "Reference answer"
    return show(Box("passed", f"{label} for {q.id} — compare it with yours", code=answer))


# ----------------------------------------------------------------------------- progress


def progress() -> ProgressView:
    """Show which questions of which modules pass (HTML table in a notebook, text elsewhere).

    >>> from coursekit.questions import Module, Question, use_registry
    >>> with use_registry([Module(id="94_demo", title="Demo", questions=[Question(id="q", title="Q")])]):
    ...     view = progress()  # doctest: +ELLIPSIS
    Progress
    [--------------------] 0 of 1 questions done. Next: 94_demo · q — Q  ...
    <BLANKLINE>
    94_demo  Demo
      ○ q  Q  [not attempted]
    >>> view.done, view.total
    (0, 1)
    """
    view = progress_view(session.store)
    show(view)
    return view
