"""Fixtures for coursekit's tests (helpers live in ck_fakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ck_fakes import FAKE, OTHER

from coursekit import checking
from coursekit.progress_store import ProgressStore
from coursekit.questions import use_registry


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake registry, a fresh session and a private progress file; no solutions folder."""
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setenv("COURSEKIT_SOLUTIONS", str(tmp_path / "no-solutions"))
    monkeypatch.setenv("COURSEKIT_PLAIN", "1")
    checking.reset_session(ProgressStore())
    with use_registry([FAKE, OTHER]):
        yield tmp_path
    checking.reset_session()


