"""Run a course module's source cell by cell in-process, with one answer cell swapped out.

The grading contract for modules 02 and 03: each hands-on question's autograder test cell
(visible check + hidden tests) passes with the reference answer and fails with deliberately
wrong ones. `run_question(module_id, question_id, answer=...)` executes every code cell of
`course/<module>.py` (or its draft in `course/drafts/`) up to that question's test cell
(skipping demo cells and other questions' test cells), replacing the answer cell's source with `answer` when given, and returns what happened.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext

ROOT = Path(__file__).resolve().parents[2]


def source_path(module_id: str) -> Path:
    final = ROOT / "course" / f"{module_id}.py"
    return final if final.exists() else ROOT / "course" / "drafts" / f"{module_id}.py"


def _grade_id(cell: Any) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, str):  # jupytext may keep header metadata as a JSON string
        meta = json.loads(meta)
    return (meta or {}).get("grade_id")


def code_cells(module_id: str) -> list[tuple[str | None, str]]:
    nb = jupytext.read(source_path(module_id))
    return [(_grade_id(c), c.source) for c in nb.cells if c.cell_type == "code"]


@dataclass
class Outcome:
    ns: dict
    error: BaseException | None  # what the test cell raised (None: it passed)
    visible_passed: bool  # check(question) on the namespace, before the test cell ran


def run_question(module_id: str, question_id: str, answer: str | None = None,
                 others: dict[str, str] | None = None) -> Outcome:
    """Execute the module's code cells up to `test_<question_id>`; swap in `answer` if given,
    and `others[grade_id]` for the answer cells of other questions."""
    others = dict(others or {})
    cells = code_cells(module_id)
    ids = [gid for gid, _ in cells]
    assert question_id in ids and f"test_{question_id}" in ids, (module_id, question_id, ids)
    ns: dict[str, Any] = {"__name__": "__main__", "display": lambda *a, **k: None}
    for gid, src in cells:
        if gid == f"test_{question_id}":
            from coursekit import check

            visible = bool(check(question_id, ns=ns, quiet=True))
            try:
                exec(compile(src, f"<{module_id}:test_{question_id}>", "exec"), ns)
            except BaseException as exc:  # noqa: BLE001 - the outcome under test
                return Outcome(ns, exc, visible)
            return Outcome(ns, None, visible)
        if gid == question_id and answer is not None:
            src = textwrap.dedent(answer)
        elif gid in others:
            src = textwrap.dedent(others[gid])
        if gid is None or (gid.startswith("test_") and gid != f"test_{question_id}"):
            continue  # demos, the learner's check cells and other questions' tests: not needed here
        exec(compile(src, f"<{module_id}:{gid or 'cell'}>", "exec"), ns)
    raise AssertionError(f"no test cell for {question_id}")  # pragma: no cover


def reference_answer(module_id: str, question_id: str) -> str:
    """The reference answer cell of ``question_id`` in ``course/<module_id>.py``."""
    return dict((gid, src) for gid, src in code_cells(module_id) if gid)[question_id]


def edited_answer(module_id: str, question_id: str, *pairs: tuple[str, str]) -> str:
    """The reference answer with each (old, new) replacement applied exactly once: a wrong answer."""
    src = reference_answer(module_id, question_id)
    for old, new in pairs:
        assert src.count(old) == 1, (question_id, old)
        src = src.replace(old, new)
    return src


# -- the three verdicts every module's tests give, once -----------------------------------------

def assert_reference_passes(module_id: str, question_id: str) -> None:
    """The reference answer passes the visible check and the test cell (hidden tests included)."""
    out = run_question(module_id, question_id)
    assert out.visible_passed
    assert out.error is None, repr(out.error)


def assert_wrong_fails(module_id: str, question_id: str, answer: str) -> None:
    """A wrong answer fails the visible check, and the test cell fails it as a wrong answer
    (an AssertionError), not as a crash."""
    out = run_question(module_id, question_id, answer)
    assert not out.visible_passed
    assert isinstance(out.error, AssertionError), repr(out.error)


def assert_hidden_catches(module_id: str, question_id: str, answer: str,
                          error: type[BaseException] = BaseException) -> None:
    """An answer that passes the visible check is rejected by the hidden tests, with ``error``
    (any failure by default, but never an interrupt or exit)."""
    out = run_question(module_id, question_id, answer)
    assert out.visible_passed, "this wrong answer is meant to pass the visible check"
    assert out.error is not None, "the hidden tests should reject it"
    assert isinstance(out.error, error) and not isinstance(out.error, (KeyboardInterrupt, SystemExit)), repr(out.error)
