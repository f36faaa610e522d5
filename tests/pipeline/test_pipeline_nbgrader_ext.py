"""The course's two nbgrader preprocessors (coursekit.nbgrader_ext)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from coursekit.nbgrader_ext import ExecuteWithDeadline, StripHiddenTestTracebacks, hidden_line_numbers

TEST_CELL_META = {
    "nbgrader": {"grade": True, "grade_id": "test_q", "locked": True, "points": 1, "schema_version": 3,
                 "solution": False, "task": False}
}
SOURCE = 'assert check("q"), "visible"\n### BEGIN HIDDEN TESTS\nassert secret_answer() == 42\n### END HIDDEN TESTS'


def _error(line: int, evalue: str = "boom") -> nbformat.NotebookNode:
    return new_output(
        "error",
        ename="AssertionError",
        evalue=evalue,
        traceback=[
            "\x1b[0;31m----------------------------------------------------------\x1b[0m",
            f"Cell \x1b[0;32mIn[7], line {line}\x1b[0m\n----> {line} assert secret_answer() == 42",
            f"\x1b[0;31mAssertionError\x1b[0m: {evalue}",
        ],
    )


def _strip(cell):
    nb = new_notebook(cells=[cell])
    StripHiddenTestTracebacks().preprocess(nb, {})
    return nb.cells[0]


def test_hidden_line_numbers():
    assert hidden_line_numbers(SOURCE) == {2, 3, 4}


def test_failure_in_hidden_region_keeps_only_the_exception_name():
    cell = new_code_cell(SOURCE, metadata=TEST_CELL_META, execution_count=7, outputs=[_error(3, "secret 42")])
    out = _strip(cell).outputs[0]
    assert out.ename == "AssertionError" and out.evalue == ""
    assert len(out.traceback) == 1 and "hidden test" in out.traceback[0]
    assert "secret" not in str(out) and "42" not in str(out)


def test_failure_on_a_visible_line_keeps_its_message_but_not_the_traceback():
    cell = new_code_cell(SOURCE, metadata=TEST_CELL_META, execution_count=7, outputs=[_error(1, "visible")])
    out = _strip(cell).outputs[0]
    assert out.traceback == ["AssertionError: visible"]


def test_unplaceable_failure_is_treated_as_hidden():
    err = _error(1)
    err.traceback = ["something odd"]
    cell = new_code_cell(SOURCE, metadata=TEST_CELL_META, execution_count=7, outputs=[err])
    assert "hidden test" in _strip(cell).outputs[0].traceback[0]


def test_learner_cells_and_cells_without_hidden_tests_are_untouched():
    answer_meta = {"nbgrader": {**TEST_CELL_META["nbgrader"], "solution": True, "grade_id": "q"}}
    answer = new_code_cell(SOURCE, metadata=answer_meta, execution_count=7, outputs=[_error(3)])
    plain = new_code_cell("1/0", execution_count=7, outputs=[_error(1)])
    visible_only = new_code_cell('assert check("q")', metadata=TEST_CELL_META, execution_count=7, outputs=[_error(1)])
    for cell in (answer, plain, visible_only):
        before = nbformat.from_dict(cell)
        assert _strip(cell) == before


@pytest.mark.notebooks
def test_notebook_budget_stops_later_cells():
    nb = new_notebook(
        cells=[
            new_code_cell("import time; x = 1"),
            new_code_cell("time.sleep(6)"),
            new_code_cell("y = 2"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    ExecuteWithDeadline(notebook_timeout=2.0, timeout=30).preprocess(nb, {})
    assert nb.cells[0].outputs == []
    assert [o.ename for o in nb.cells[1].outputs if o.output_type == "error"], "second cell must hit the budget"
    last = nb.cells[2].outputs
    assert last and last[0].ename == "NotebookTimeoutError"


@pytest.mark.notebooks
def test_autograde_kernel_computes_the_students_variant_not_the_instructors(monkeypatch):
    """nbgrader autograde runs in the instructor's session: the kernel must get the student id
    graded as COURSEKIT_LEARNER (coursekit.variants), whatever the instructor's own name is."""
    monkeypatch.setenv("JUPYTERHUB_USER", "instructor")
    monkeypatch.setenv("COURSEKIT_LEARNER", "instructor")
    code = "from coursekit.variants import learner_id, variant; print(learner_id(), variant('m', 1000, salt='s'))"
    nb = new_notebook(cells=[new_code_cell(code)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    ExecuteWithDeadline(timeout=60).preprocess(nb, {"nbgrader": {"student": "amy"}})
    from coursekit.variants import variant

    assert nb.cells[0].outputs[0].text.split() == ["amy", str(variant("m", 1000, learner="amy", salt="s"))]
