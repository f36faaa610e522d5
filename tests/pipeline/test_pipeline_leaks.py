"""exercises/ holds no solution code and no hidden-test text; nothing is executed there."""

from __future__ import annotations

import json

import pytest
from pipeline_helpers import committed, read, secret_lines

from coursekit import build

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@pytest.mark.parametrize("module_id", build.MODULES)
def test_exercise_has_no_markers_and_no_outputs(module_id):
    nb = read(committed("exercises", module_id))
    raw = committed("exercises", module_id).read_text(encoding="utf-8")
    for marker in MARKERS:
        assert marker not in raw, f"{marker!r} in exercises/{module_id}: run make build"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("module_id", build.MODULES)
@pytest.mark.parametrize("kind", ["solution", "hidden"])
def test_exercise_contains_no_secret_line(module_id, kind):
    secrets = secret_lines(module_id)[kind]
    assert secrets, f"found no {kind} lines in course/{module_id}.py: is the test looking at the right file?"
    nb = read(committed("exercises", module_id))
    text = {line.strip() for cell in nb.cells for line in cell.source.split("\n")}
    text |= {line.strip() for line in json.dumps(nb.metadata, indent=1).split("\n")}
    leaked = sorted(secrets & text)
    assert not leaked, f"exercises/{module_id} leaks {kind} lines: {leaked[:5]}"


@pytest.mark.parametrize("module_id", build.MODULES)
def test_every_graded_question_has_a_registry_entry_and_test_cell(module_id):
    """grade_id q (answer) ↔ registry question q ↔ test cell test_q calling check("q")."""
    from coursekit.questions import load_module

    registry = load_module(module_id)
    nb = build.source_notebook(module_id)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    answers = [gid for gid, c in cells.items() if c.metadata["nbgrader"]["solution"]]
    assert answers == registry.question_ids
    for q in registry.questions:
        if q.kind == "code":
            test = cells[f"test_{q.id}"]
            assert test.metadata["nbgrader"]["grade"] and test.metadata["nbgrader"]["locked"]
            assert f'check("{q.id}")' in test.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "### BEGIN HIDDEN TESTS" in test.source
        else:
            meta = cells[q.id].metadata["nbgrader"]
            assert meta["grade"] and meta["solution"] and meta["points"] > 0
            assert f"test_{q.id}" not in cells
