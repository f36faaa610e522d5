"""Fixtures for the module-specific grading tests (02, 03): a private progress file, plain output."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _private_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setenv("COURSEKIT_SOLUTIONS", str(tmp_path / "no-solutions"))
    monkeypatch.setenv("COURSEKIT_PLAIN", "1")
    monkeypatch.setenv("COURSEKIT_HEADLESS", "1")
    # the reference learner (variant 0, the scenarios the text quotes) unless a test names another
    monkeypatch.setenv("COURSEKIT_LEARNER", "reference")
    yield
