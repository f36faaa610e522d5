"""Registry types and module discovery (against a throwaway package, not the real course)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from coursekit import questions
from coursekit.questions import Mismatch, Module, Question, check_name, expect, expect_true, find_question, load_module


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    pkg = tmp_path / "ck_fake_modules"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('REGISTRY = {"05_named": "registered_elsewhere"}\n')
    body = textwrap.dedent('''
        from coursekit.questions import Module, Question
        MODULE = Module(id="{id}", title="{title}", questions=[Question(id="{q}", title="Q")])
    ''')
    (pkg / "m03_hol.py").write_text(body.format(id="03_hol", title="HOL", q="threshold"))
    (pkg / "registered_elsewhere.py").write_text(body.format(id="05_named", title="Named", q="named_q"))
    (pkg / "m04_other.py").write_text(body.format(id="04_other", title="Other", q="threshold"))
    (pkg / "m09_broken.py").write_text("raise RuntimeError('half-written registry')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(questions, "PACKAGE", "ck_fake_modules")
    monkeypatch.setattr(questions, "_registered", {})
    monkeypatch.setattr(questions, "_scan_package", True)
    monkeypatch.setattr(questions, "_broken_warned", set())
    yield
    for name in [n for n in sys.modules if n.startswith("ck_fake_modules")]:
        del sys.modules[name]


def test_load_module_by_name_guess_mapping_and_scan(fake_package):
    assert load_module("03_hol").title == "HOL"  # m03_hol by name
    with pytest.warns(RuntimeWarning, match="half-written registry") as caught:
        assert load_module("05_named").title == "Named"  # via REGISTRY's module name
        ids = [m.id for m in questions.all_modules()]
    assert len(caught) == 1  # warned once, not on every call
    assert ids == ["03_hol", "04_other", "05_named"]  # the broken file is skipped, not fatal
    with pytest.raises(KeyError, match="No course module '77_x'"):
        load_module("77_x")


@pytest.mark.filterwarnings("ignore:coursekit. could not load")
def test_find_question_ambiguity_and_explicit_module(fake_package):
    with pytest.raises(KeyError, match="in several modules"):
        find_question("threshold")
    assert find_question("threshold", "04_other")[0].id == "04_other"
    assert find_question("04_other:threshold")[0].id == "04_other"
    with pytest.raises(KeyError, match="Its questions: threshold"):
        find_question("03_hol:nope")


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
