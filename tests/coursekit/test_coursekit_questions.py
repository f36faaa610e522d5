"""Registry types and module discovery (against a throwaway package, not the real course)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from coursekit import questions
from coursekit.questions import Mismatch, Module, Question, check_name, expect, expect_true, find_question, load_module


class _EntryPoint:
    def __init__(self, name, value, obj=None, error=None):
        self.name, self.value, self._obj, self._error = name, value, obj, error

    def load(self):
        if self._error:
            raise self._error
        return self._obj


def _provider(*modules, rubrics=()):
    return types.SimpleNamespace(MODULES=list(modules), RUBRICS=list(rubrics))


def _mod(id_, title, q):
    return Module(id=id_, title=title, questions=[Question(id=q, title="Q")])


@pytest.fixture
def fake_providers(monkeypatch):
    """Two content packages announced by entry points, and one that fails to load."""
    eps = [
        _EntryPoint("a_course", "a_course", _provider(_mod("03_hol", "HOL", "threshold"), _mod("04_other", "Other", "threshold"))),
        _EntryPoint("b_course", "b_course", _provider(_mod("05_named", "Named", "named_q"))),
        _EntryPoint("broken", "broken_course", error=RuntimeError("half-written content package")),
    ]
    monkeypatch.setattr(questions, "entry_points", lambda: eps)
    monkeypatch.setattr(questions, "_registered", {})
    monkeypatch.setattr(questions, "_use_providers", True)
    monkeypatch.setattr(questions, "_loaded", None)
    monkeypatch.setattr(questions, "_broken_warned", set())
    yield
    questions.reload_providers()


def test_modules_come_from_entry_points_lazily(fake_providers):
    with pytest.warns(RuntimeWarning, match="half-written content package") as caught:
        assert load_module("03_hol").title == "HOL"
        assert load_module("05_named").title == "Named"
        ids = [m.id for m in questions.all_modules()]
    assert len(caught) == 1  # warned once, not on every call
    assert ids == ["03_hol", "04_other", "05_named"]  # the broken provider is skipped, not fatal
    with pytest.raises(KeyError, match="No course module '77_x'"):
        load_module("77_x")


@pytest.mark.filterwarnings("ignore:coursekit. could not load")
def test_find_question_ambiguity_and_explicit_module(fake_providers):
    with pytest.raises(KeyError, match="in several modules"):
        find_question("threshold")
    assert find_question("threshold", "04_other")[0].id == "04_other"
    assert find_question("04_other:threshold")[0].id == "04_other"
    with pytest.raises(KeyError, match="Its questions: threshold"):
        find_question("03_hol:nope")


def test_importing_coursekit_imports_no_course():
    """The course's content loads on first use, through the entry point, not at import."""
    code = ("import sys, coursekit; loaded = [m for m in sys.modules if m.split('.')[0] in "
            "('cache_course', 'cachesim', 'swrcache')]; print(loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    code = "import coursekit; coursekit.load_module('01_lru'); import sys; print('cache_course' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_the_real_course_is_registered():
    assert [m.id for m in questions.all_modules()] == ["00_orientation", "01_lru", "02_stampede", "03_hol_blocking",
                                                       "06_incident", "07_afterwards"]
    from coursekit.rubrics import get_rubric

    assert get_rubric("review_reply").evaluate("ok").questions  # the public contract, unchanged
    assert {"wip_pr", "review_reply", "apology"} <= set(__import__("coursekit.rubrics").rubrics.all_rubrics())


def test_types_validate():
    with pytest.raises(ValueError, match="duplicate question ids"):
        Module(id="m", title="M", questions=[Question(id="a", title="A"), Question(id="a", title="B")])
    with pytest.raises(ValueError, match="needs a rubric"):
        Question(id="r", title="R", kind="reflect")
    with pytest.raises(ValueError, match="kind must be"):
        Question(id="r", title="R", kind="essay")  # type: ignore[arg-type]


def test_expect_helpers_and_names():
    with pytest.raises(Mismatch) as info:
        expect("x", [1] * 200, [1], advice="Trim it.")
    assert len(str(info.value)) < 200 and str(info.value).endswith("Trim it.")
    expect_true("ok", True)
    with pytest.raises(AssertionError):
        expect_true("not ok", 0)

    class Weird:
        def __eq__(self, other):
            raise ValueError("no comparing")

        def __repr__(self):
            raise RuntimeError("no repr")

    with pytest.raises(Mismatch, match="whose repr raised RuntimeError"):
        expect("weird", Weird(), 1)

    def check_two_refreshes_coalesce(ns):
        pass

    assert check_name(check_two_refreshes_coalesce) == "two refreshes coalesce"
