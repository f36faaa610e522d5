"""The `figures` hook of a question: check() records the learner's own figures when it passes,
never when it fails, and a hook that breaks on odd learner code never breaks the check."""

from __future__ import annotations

import pytest

from coursekit import checking
from coursekit.completion import completion_html, write_completion_summary
from coursekit.figures import Figure, load_figures
from coursekit.progress_store import ProgressStore
from coursekit.questions import Module, Question, expect, use_registry


def check_double(ns):
    """double(4) is 8"""
    expect("double(4)", ns["double"](4), 8)


def measured(ns):
    """How many steps the learner's double takes to reach 1000 from 1 (their code, measured)."""
    double, n, steps = ns["double"], 1, 0
    while n < 1000:
        n, steps = double(n), steps + 1
    return [Figure("steps to 1000", 1000, steps, "", "before: counting up by one")]


def raising(ns):
    ns["double"]("not a number") + 1
    return []


QUESTIONS = {"measured": measured, "raising": raising, "not_figures": lambda ns: ["a string"],
             "none": None}
MOD = Module(id="89_figs", title="Figures", questions=[
    Question(id=name, title=name, checks=[check_double], figures=hook) for name, hook in QUESTIONS.items()])


@pytest.fixture
def figs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setenv("COURSEKIT_PLAIN", "1")
    monkeypatch.delenv("COURSEKIT_FIGURES", raising=False)
    monkeypatch.delenv("COURSEKIT_GRADING", raising=False)
    checking.reset_session(ProgressStore())
    with use_registry([MOD]):
        yield tmp_path
    checking.reset_session()


def test_a_pass_records_the_figures_measured_from_the_learners_code(figs):
    assert checking.check("measured", ns={"double": lambda x: 2 * x}, quiet=True)
    [fig] = load_figures()["89_figs"]
    assert (fig["name"], fig["before"], fig["after"]) == ("steps to 1000", 1000, 10)
    assert fig["source"] == 'your code, measured when check("measured") passed'
    assert (figs / "figures.json").exists()  # beside the progress file


def test_different_passing_code_gives_different_figures(figs):
    def odd_double(x):  # passes check_double (it only asks about 4) but triples otherwise
        return 8 if x == 4 else x * 3 + 1

    assert checking.check("measured", ns={"double": lambda x: 2 * x}, quiet=True)
    assert load_figures()["89_figs"][0]["after"] == 10
    assert checking.check("measured", ns={"double": odd_double}, quiet=True)
    assert load_figures()["89_figs"][0]["after"] == 7  # 1, 4, 8, 25, 76, 229, 688, 2065


def test_a_failing_check_records_nothing(figs):
    report = checking.check("measured", ns={"double": lambda x: x + 2}, quiet=True)
    assert report.status == "failed"
    assert load_figures() == {}


def test_a_hook_that_raises_or_returns_junk_records_nothing_and_the_check_still_passes(figs):
    for qid in ("raising", "not_figures", "none"):
        report = checking.check(qid, ns={"double": lambda x: 2 * x}, quiet=True)
        assert report.status == "passed", qid
        assert [r.status for r in report.results] == ["passed"]
    assert load_figures() == {}


def test_a_hook_that_exits_records_nothing(figs):
    def double(x):
        if x == 1:
            raise SystemExit(3)  # only the hook calls double(1)
        return 2 * x

    assert checking.check("measured", ns={"double": double}, quiet=True)
    assert load_figures() == {}


def test_grading_skips_the_hook(figs, monkeypatch):
    monkeypatch.setenv("COURSEKIT_GRADING", "1")
    assert checking.check("measured", ns={"double": lambda x: 2 * x}, quiet=True)
    assert load_figures() == {}


def test_the_summary_shows_the_recorded_figures_and_their_source(figs):
    assert checking.check("measured", ns={"double": lambda x: 2 * x}, quiet=True)
    page = write_completion_summary(figs / "summary.html", course_title="Demo").read_text()
    row = page.split("steps to 1000", 1)[1].split("</tr>", 1)[0]
    assert "1,000" in row and ">10<" in row
    assert 'your code, measured when check(&quot;measured&quot;) passed' in row


def test_the_source_is_said_once_per_run_and_a_missing_source_says_so():
    figures = {"89_figs": [{"name": "a", "before": 1, "after": 2, "source": "bench"},
                           {"name": "b", "before": 3, "after": 4, "source": "bench"},
                           {"name": "c", "before": 5, "after": 6}]}
    page = completion_html([MOD], {}, figures)
    assert page.count("bench") == 1
    assert "not stated" in page


def test_a_module_without_figures_says_which_checks_would_measure_them():
    page = completion_html([MOD], {}, {})
    assert ('No figures yet: they are measured from your own code when check(&quot;measured&quot;) or '
            'check(&quot;raising&quot;) or check(&quot;not_figures&quot;) passes.') in page
    unmeasured = Module(id="88_plain", title="Plain", questions=[Question(id="p", title="P", checks=[check_double])])
    assert "No figures recorded for this module yet." in completion_html([unmeasured], {}, {})


def test_figures_only_on_code_questions():
    with pytest.raises(ValueError, match="figures"):
        Question(id="r", title="R", kind="reflect", rubric="x", figures=measured)
