"""The progress file (location, atomic writes, never failing) and the progress views."""

from __future__ import annotations

import io
import json
import os
import sys
import warnings

import pytest
from ck_fakes import GOOD_LRU, run_cell

import coursekit
from coursekit import check, checking, progress
from coursekit import progress_store as progress_mod  # the module; `coursekit.progress` is the function
from coursekit.progress_store import ProgressStore, find_repo_root, print_progress, progress_path


def test_path_order(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "x.json"))
    assert progress_path() == tmp_path / "x.json"
    monkeypatch.delenv("COURSEKIT_PROGRESS")
    repo = tmp_path / "repo"
    for d in ("course", "lib", "exercises/01_lru"):
        (repo / d).mkdir(parents=True)
    monkeypatch.chdir(repo / "exercises" / "01_lru")
    assert find_repo_root() == repo.resolve()
    assert progress_path() == repo.resolve() / ".coursekit" / "progress.json"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert progress_path() == tmp_path / "home" / ".cache" / "cache-under-pressure" / "progress.json"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path):
    store = ProgressStore(tmp_path / "p.json")
    for i in range(5):
        store.record("01_lru", f"q{i}", "failed")
    assert sorted(os.listdir(tmp_path)) == ["p.json"]
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["version"] == 1 and len(data["modules"]["01_lru"]) == 5


def test_unwritable_location_warns_once_and_never_raises(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = ProgressStore(blocker / "sub" / "p.json")
    monkeypatch.setattr(sys.modules["coursekit.progress_store"], "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.record("01_lru", "a", "passed")
        store.record("01_lru", "b", "passed")
    assert len(caught) == 1 and "could not save progress" in str(caught[0].message)
    assert store.status("01_lru", "a") == "not_attempted"


def test_corrupt_file_reads_as_empty_and_is_repaired(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_text("{not json")
    monkeypatch.setattr(sys.modules["coursekit.progress_store"], "_warned", False)
    store = ProgressStore(path)
    with pytest.warns(RuntimeWarning, match="could not read"):
        assert store.load() == {}
    store.record("01_lru", "a", "passed")
    assert store.status("01_lru", "a") == "passed"


def test_status_transitions(tmp_path):
    store = ProgressStore(tmp_path / "p.json")
    store.record("m", "q", "passed")
    store.record("m", "q", "not_attempted")  # kernel restart: keep the pass
    assert store.status("m", "q") == "passed"
    store.record("m", "q", "failed")  # a real regression is shown, and remembered
    entry = store.load()["m"]["q"]
    assert entry["status"] == "failed" and entry["passed_before"] is True
    store.record("m", "r", "answered")
    store.record("m", "r", "not_attempted")
    assert store.status("m", "r") == "answered"
    with pytest.raises(ValueError):
        store.record("m", "q", "great")


def test_progress_views_after_real_checks(course, capsys):
    check("lru_basic", ns=run_cell(GOOD_LRU), quiet=True)
    check("pr_text", ns={"pr_text": "I changed the cache today and tests are partial. Could you check races?"},
          quiet=True)
    view = progress()
    out = capsys.readouterr().out
    assert view.done == 2 and view.total == 4
    assert "2 of 4 questions done. Next: 90_fake · ratio — Hit ratio" in out
    assert "✓ lru_basic" in out and "[answered — graded by your instructor]" in out
    assert "○ ratio" in out and "[not attempted]" in out
    html = view._repr_html_()
    assert "<table" in html and "#1a7f37" in html and "#0969da" in html

    buf = io.StringIO()
    assert print_progress(stream=buf) == 0
    assert buf.getvalue().strip() == out.strip()
    assert progress_mod.print_progress is print_progress


def test_progress_has_one_meaning():
    """`from coursekit import progress; progress()` is the function; the store is another module."""
    import importlib

    assert callable(coursekit.progress) and coursekit.progress is checking.progress
    assert not isinstance(coursekit.progress, type(sys))
    importlib.import_module("coursekit.progress_store")
    assert coursekit.progress is checking.progress  # importing the store does not shadow the function
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("coursekit.progress")


def test_all_done_summary(course):
    checking.session.store.record("90_fake", "lru_basic", "passed")
    checking.session.store.record("90_fake", "ratio", "passed")
    checking.session.store.record("90_fake", "pr_text", "answered")
    checking.session.store.record("91_other", "reply", "answered")
    assert "4 of 4 questions done — all done." in progress_mod.progress_view().summary()


def test_regression_after_a_pass_is_labelled(course):
    store = checking.session.store
    store.record("90_fake", "lru_basic", "passed")
    store.record("90_fake", "lru_basic", "failed")
    text = progress_mod.progress_view().text()
    assert "✗ lru_basic" in text and "[passed before — not passing now]" in text
