"""Run the doctest examples of every coursekit module this area owns."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["questions", "display", "progress", "rubric", "rubrics", "checking", "roleplay"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_PLAIN", "1")
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "p.json"))
    monkeypatch.chdir(tmp_path)
    from coursekit import checking

    checking.reset_session()
    module = importlib.import_module(f"coursekit.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    checking.reset_session()
    assert result.attempted > 0
    assert result.failed == 0
