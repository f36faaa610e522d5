"""coursekit.variants: who the learner is, and their stable variant of a module."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import variants
from coursekit.grading.discover import discover
from coursekit.grading.kernel_env import kernel_env
from coursekit.variants import REFERENCE, VariantError, learner_id, normalize_learner, stored_learner, variant


@pytest.fixture
def nobody(monkeypatch, tmp_path):
    """No identity from the environment, and a working folder outside any repository."""
    for name in ("COURSEKIT_LEARNER", "JUPYTERHUB_USER", "COURSEKIT_GRADING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _repo(root):
    for d in ("course", "lib", "exercises/01_lru"):
        (root / d).mkdir(parents=True, exist_ok=True)
    return root


def test_resolution_order(nobody, monkeypatch):
    repo = _repo(nobody / "repo")
    monkeypatch.chdir(repo / "exercises" / "01_lru")
    monkeypatch.setattr(variants, "_os_user", lambda: "osuser")
    # 3. first use in a repository: the OS user's name, kept in .coursekit/learner
    assert learner_id() == "osuser"
    assert (repo / ".coursekit" / "learner").read_text() == "osuser\n"
    # ... and kept: another account (or machine) working in this repository keeps the variant
    monkeypatch.setattr(variants, "_os_user", lambda: "someone-else")
    assert learner_id() == "osuser"
    # 2. the hub's user beats the file
    monkeypatch.setenv("JUPYTERHUB_USER", "hubann")
    assert learner_id() == "hubann"
    # 1. what the grader passes beats everything
    monkeypatch.setenv("COURSEKIT_LEARNER", "graded bob")
    assert learner_id() == "graded_bob"
    # 4. outside a repository: the OS user
    for name in ("COURSEKIT_LEARNER", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name)
    monkeypatch.chdir(nobody)
    assert learner_id() == "someone-else"


def test_grading_never_guesses(nobody, monkeypatch):
    _repo(nobody)
    (nobody / ".coursekit").mkdir()
    (nobody / ".coursekit" / "learner").write_text("fromfile\n")
    monkeypatch.setenv("JUPYTERHUB_USER", "instructor")
    monkeypatch.setenv("COURSEKIT_GRADING", "1")
    with pytest.raises(VariantError, match="COURSEKIT_LEARNER is not set"):
        learner_id()
    monkeypatch.setenv("COURSEKIT_LEARNER", "amy")
    assert learner_id() == "amy"


def test_a_graded_learner_cannot_switch_variant_by_editing_the_environment():
    code = ("import os; from coursekit.variants import learner_id\n"
            "os.environ['COURSEKIT_LEARNER'] = 'reference'\nprint(learner_id())")
    env = {**os.environ, "COURSEKIT_GRADING": "1", "COURSEKIT_LEARNER": "amy"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "amy"
    env.pop("COURSEKIT_GRADING")  # outside grading the environment is simply read
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "reference"


def test_variant_is_sha256_of_salt_learner_module_and_reference_is_zero():
    digest = hashlib.sha256(b"s\0alice\x0001_lru").digest()
    assert variant("01_lru", 97, learner="alice", salt="s") == 1 + int.from_bytes(digest[:8], "big") % 96
    assert variant("01_lru", 97, learner="Alice", salt="s") == variant("01_lru", 97, learner="alice", salt="s")
    assert variant("01_lru", 97, learner=REFERENCE, salt="s") == 0
    with pytest.raises(ValueError, match="n >= 2"):
        variant("01_lru", 1, learner="alice")


def test_variant_is_the_same_in_another_process_whatever_its_hash_seed():
    code = "from coursekit.variants import variant; print(variant('06_incident', 10**6, learner='alice', salt='x'))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2")}
    assert outs == {str(variant("06_incident", 10**6, learner="alice", salt="x"))}


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda s: normalize_learner(s) not in ("", REFERENCE)),
       st.sampled_from(["00_orientation", "01_lru", "06_incident"]))
def test_every_learner_gets_a_non_reference_variant_in_range(name, module):
    v = variant(module, 1000, learner=name, salt="s")
    assert 1 <= v < 1000
    assert v == variant(module, 1000, learner=normalize_learner(name), salt="s")


def test_learners_and_modules_spread_out():
    names = [f"learner{i}" for i in range(40)]
    assert len({variant("06_incident", 10**6, learner=n) for n in names}) == 40  # a cohort shares no numbers
    assert len({variant(m, 10**6, learner="alice") for m in ("01_lru", "02_stampede", "03_hol")}) == 3
    small = [variant("01_lru", 5, learner=f"l{i}") for i in range(400)]
    assert sorted(set(small)) == [1, 2, 3, 4] and min(small.count(k) for k in range(1, 5)) > 60


def test_grading_kernel_gets_the_learner_and_only_it(tmp_path):
    env = kernel_env(str(tmp_path), "alice")
    assert env["COURSEKIT_LEARNER"] == "alice" and env["COURSEKIT_GRADING"] == "1"
    assert "JUPYTERHUB_USER" not in env
    with pytest.raises(ValueError, match="name of the learner"):
        kernel_env(str(tmp_path), "")


def test_grading_a_repository_reads_the_stored_name(tmp_path, monkeypatch):
    repo = tmp_path / "my-fork"
    (repo / "exercises" / "01_lru").mkdir(parents=True)
    (repo / "exercises" / "01_lru" / "01_lru.ipynb").write_text("{}")
    monkeypatch.setenv("GITHUB_ACTOR", "gh-ann")
    assert [s.learner for s in discover(repo, ["01_lru"])] == ["gh-ann"]
    (repo / ".coursekit").mkdir()
    (repo / ".coursekit" / "learner").write_text("ann\n")
    assert stored_learner(repo) == "ann"
    assert [s.learner for s in discover(repo, ["01_lru"])] == ["ann"]  # the name the notebooks used
    assert [s.learner for s in discover(repo, ["01_lru"], learner="Ann Lee")] == ["Ann_Lee"]
    monkeypatch.delenv("GITHUB_ACTOR")
    (repo / ".coursekit" / "learner").unlink()
    assert [s.learner for s in discover(repo, ["01_lru"])] == ["my-fork"]
