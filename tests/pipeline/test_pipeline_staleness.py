"""exercises/ and solutions/ are what `make build` makes from course/ right now."""

from __future__ import annotations

import pytest
from pipeline_helpers import committed, read

from coursekit import build

STALE = "is stale against course/: run make build (python -m coursekit.build) and commit the result"
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "application/json")


def _text_outputs(cell):
    if "nbval-ignore-output" in cell.metadata.get("tags", []):
        return "ignored"  # e.g. progress(), which lists every module in the registry
    shaped = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            shaped.append((kind, output["name"], output["text"]))
        elif kind == "error":
            shaped.append((kind, output["ename"], output["evalue"]))
        else:
            data = output.get("data", {})
            shaped.append((kind, {m: data[m] for m in TEXT_MIMES if m in data}))
    return shaped


def _solution_drift(module_id, old, new):
    if old.metadata != new.metadata:
        return f"solutions/{module_id} metadata"
    if len(old.cells) != len(new.cells):
        return f"solutions/{module_id} cells"
    for before, after in zip(old.cells, new.cells):
        where = f"solutions/{module_id} cell {after.get('id')}"
        if (before.cell_type, before.source) != (after.cell_type, after.source):
            return f"{where} source"
        if before.metadata != after.metadata:
            return f"{where} metadata"
        if _text_outputs(before) != _text_outputs(after):
            return f"{where} outputs"
        if before.get("execution_count") != after.get("execution_count"):
            return f"{where} execution count"
    return None


@pytest.mark.notebooks
def test_exercises_and_solutions_are_fresh(tmp_path):
    """One test (one worker, one rebuild of every module into a temp dir), every drift listed."""
    build.build(tmp_path, quiet=True)
    stale = []
    for module_id in build.MODULES:
        exercise, solution = committed("exercises", module_id), committed("solutions", module_id)
        if not exercise.exists() or not solution.exists():
            stale.append(f"{module_id} (not built)")
            continue
        fresh = tmp_path / "exercises" / module_id / f"{module_id}.ipynb"
        if exercise.read_text(encoding="utf-8") != fresh.read_text(encoding="utf-8"):
            stale.append(f"exercises/{module_id}")
        drift = _solution_drift(module_id, read(solution), read(tmp_path / "solutions" / module_id / f"{module_id}.ipynb"))
        if drift:
            stale.append(drift)
    assert not stale, f"{', '.join(stale)} {STALE}"


def test_course_map_is_fresh():
    """exercises/README.md (the page JupyterLab opens on) lists exactly the committed notebooks."""
    from coursekit import coursemap

    exercises = committed("exercises", build.MODULES[0]).parent.parent
    expected = coursemap.course_map(coursemap.modules_in(exercises))
    assert (exercises / coursemap.MAP_NAME).read_text(encoding="utf-8") == expected, f"exercises/README.md {STALE}"


def test_every_module_is_built_and_registered():
    from coursekit.questions import load_module

    assert build.MODULES == sorted(build.MODULES) and build.MODULES[:2] == ["00_orientation", "01_lru"]
    for module_id in build.MODULES:
        assert load_module(module_id).id == module_id, f"no module {module_id!r} in the course content (lib/cache_course, found by entry point)"
        assert committed("exercises", module_id).exists(), f"exercises/{module_id} is missing: run make build"


def test_source_newer_than_build_is_detected_cheaply():
    """Fast guard (no kernel): the committed notebooks carry the current sources cell by cell."""
    for module_id in build.MODULES:
        source = build.source_notebook(module_id)
        solution = read(committed("solutions", module_id))
        assert [c.source for c in solution.cells] == [c.source for c in source.cells], f"solutions/{module_id} {STALE}"
        assert [c.metadata for c in solution.cells] == [c.metadata for c in source.cells], f"solutions/{module_id} {STALE}"


@pytest.mark.parametrize("module_id", build.MODULES)
def test_built_solutions_hold_no_widget_views(module_id):
    # A widget view names a random model id whose state is not saved: it would make every
    # build differ and show "model not found" when opened; the text fallback stays instead.
    nb = read(committed("solutions", module_id))
    views = [c.get("id") for c in nb.cells for o in c.get("outputs", []) if build.WIDGET_VIEW in o.get("data", {})]
    assert not views, f"solutions/{module_id}: widget views in cells {views}"
