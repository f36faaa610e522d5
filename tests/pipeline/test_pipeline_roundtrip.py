"""nbgrader metadata survives the text format (jupytext percent) in both directions."""

from __future__ import annotations

import jupytext
import nbformat
import pytest
from pipeline_helpers import committed, read

from coursekit import build


def _shape(nb):
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


@pytest.mark.parametrize("module_id", build.MODULES)
def test_py_to_ipynb_to_py_is_identical(module_id):
    path = build.source_path(module_id)
    text = path.read_text(encoding="utf-8")
    again = jupytext.writes(jupytext.read(path, fmt="py:percent"), fmt="py:percent")
    assert again == text, f"{path.name} is not in jupytext's canonical form: rewrite it with jupytext"


@pytest.mark.parametrize("module_id", build.MODULES)
def test_instructor_ipynb_to_py_to_ipynb_keeps_metadata(module_id):
    nb = build.source_notebook(module_id)
    back = build._normalise(jupytext.reads(jupytext.writes(nb, fmt="py:percent"), fmt="py:percent"), module_id)
    assert _shape(back) == _shape(nb)
    assert back.metadata == nb.metadata
    assert [c.id for c in back.cells] == [c.id for c in nb.cells]
    assert any("nbgrader" in c.metadata for c in nb.cells)


@pytest.mark.parametrize("module_id", build.MODULES)
def test_released_notebook_metadata_round_trips(module_id):
    """nbgrader's own output (checksums, cell_type, locked flags) survives ipynb → py → ipynb."""
    nb = read(committed("exercises", module_id))
    back = jupytext.reads(jupytext.writes(nb, fmt="py:percent"), fmt="py:percent")
    for cell in back.cells:
        cell.metadata.pop("lines_to_next_cell", None)
    assert [dict(c.metadata) for c in back.cells] == [dict(c.metadata) for c in nb.cells]
    assert [c.source for c in back.cells] == [c.source for c in nb.cells]


def test_every_kind_of_nbgrader_cell_round_trips():
    def meta(**kw):
        base = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
        base.update(kw)
        return {"nbgrader": base}

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Read-only\ntext", metadata=meta(grade_id="ro", locked=True)),
        nbformat.v4.new_code_cell("x = 1  ### BEGIN SOLUTION", metadata=meta(grade_id="ans", solution=True)),
        nbformat.v4.new_code_cell(
            "assert x\n### BEGIN HIDDEN TESTS\nassert x == 1\n### END HIDDEN TESTS",
            metadata=meta(grade_id="test_ans", grade=True, locked=True, points=2.5),
        ),
        nbformat.v4.new_markdown_cell(
            "YOUR ANSWER HERE", metadata=meta(grade_id="essay", grade=True, solution=True, points=3)
        ),
        nbformat.v4.new_markdown_cell("Describe it.", metadata=meta(grade_id="task1", task=True, points=1)),
        nbformat.v4.new_code_cell(
            "s = '''\nmulti\n\nline\n'''", metadata={**meta(grade_id="refl", grade=True, solution=True, points=3),
                                                 "tags": ["raises-exception"], "deletable": False}
        ),
    ]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    text = jupytext.writes(nb, fmt="py:percent")
    back = jupytext.reads(text, fmt="py:percent")
    for cell in back.cells:
        cell.metadata.pop("lines_to_next_cell", None)
    assert [dict(c.metadata) for c in back.cells] == [dict(c.metadata) for c in nb.cells]
    assert [(c.cell_type, c.source) for c in back.cells] == [(c.cell_type, c.source) for c in nb.cells]
    assert jupytext.writes(back, fmt="py:percent") == text
