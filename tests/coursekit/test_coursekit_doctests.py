"""Run the doctest examples of every coursekit (and course content) module this area owns."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["coursekit.questions", "coursekit.display", "coursekit.progress_store", "coursekit.rubric_engine",
           "coursekit.rubrics", "coursekit.checking", "coursekit.roleplay", "coursekit.roleplay_cells", "cache_course.lab",
           "cache_course.rubrics", "coursekit.variants", "cache_course.variants"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_PLAIN", "1")
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "p.json"))
    monkeypatch.chdir(tmp_path)
    from coursekit import checking

    checking.reset_session()
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    checking.reset_session()
    assert result.attempted > 0
    assert result.failed == 0
