"""check / hint / reveal / start against a fake module, with simulated notebook cells."""

from __future__ import annotations

import json

import pytest
from ck_fakes import CRASHING_LRU, FIFO_LRU, GOOD_LRU, STUB_LRU, code_cell, run_cell, write_solutions

import coursekit
from coursekit import check, checking, hint, reveal, start


def test_pass_reports_every_named_check_and_records_progress(course, capsys):
    ns = run_cell(GOOD_LRU)
    report = check("90_fake:lru_basic", ns=ns)
    assert report and report.status == "passed"
    out = capsys.readouterr().out
    assert "✓ lru_basic — An O(1) LRU cache: all 3 checks pass" in out
    assert "✓ evicts the least recently used key" in out
    assert 'reveal("lru_basic")' in out
    data = json.loads((course / "progress.json").read_text())
    assert data["modules"]["90_fake"]["lru_basic"]["status"] == "passed"


def test_fail_says_expected_got_and_advice_and_stops_at_first_failure(course, capsys):
    ns = run_cell(FIFO_LRU)
    report = check("90_fake:lru_basic", ns=ns)
    assert not report and report.status == "failed"
    out = capsys.readouterr().out
    assert "1 of 3 checks pass" in out
    assert "expected None, got 2." in out
    assert "reading a key counts as using it" in out
    assert "1 more check runs once this one passes" in out
    assert 'Stuck? hint("lru_basic")' in out
    assert [r.status for r in report.results] == ["passed", "failed"]


def test_learner_exception_names_the_line_in_the_cell_not_a_traceback(course, capsys):
    ns = run_cell(CRASHING_LRU)
    report = check("90_fake:lru_basic", ns=ns)
    assert report.status == "error" and not report
    out = capsys.readouterr().out
    assert "your code raised ZeroDivisionError: division by zero" in out
    assert "of your cell: ratio = 1 / 0" in out
    assert "Traceback" not in out


def test_untouched_stub_reads_as_not_attempted(course, capsys):
    ns = run_cell(STUB_LRU)
    report = check("90_fake:lru_basic", ns=ns)
    assert report.status == "not_attempted" and not report
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "NotImplementedError" in out
    assert "raised" not in out  # not reported as an error


def test_missing_name_reads_as_not_attempted(course, capsys):
    report = check("90_fake:lru_basic", ns={})
    assert report.status == "not_attempted"
    out = capsys.readouterr().out
    assert "LRUCache isn't defined yet" in out and "`" not in out  # plain text: no raw markdown


def test_plain_assertion_and_checks_raising_not_attempted(course):
    assert check("ratio", ns={"hit_ratio": None}, quiet=True).status == "not_attempted"
    report = check("ratio", ns={"hit_ratio": 1.5}, quiet=True)
    assert report.status == "failed"
    assert "between 0 and 1, got 1.5" in report.text()
    assert check("ratio", ns={"hit_ratio": 0.75}, quiet=True)


def test_start_binds_module_and_unknown_question_is_a_kind_report(course, capsys):
    start("90_fake")
    assert checking.session.module_id == "90_fake"
    banner = capsys.readouterr().out
    assert banner.splitlines()[1].strip() == "3 questions: lru_basic, ratio, pr_text."
    report = check("nope", ns={})
    assert report.status == "unknown" and not report
    assert "no question 'nope'" in report.text()
    start("42_missing")
    assert "No course module '42_missing'" in capsys.readouterr().out


def test_check_finds_caller_globals_without_ns():
    # No IPython shell here, so check() reads this test module's globals.
    globals()["hit_ratio"] = 0.5
    try:
        with pytest.MonkeyPatch.context() as mp:
            import tempfile

            mp.setenv("COURSEKIT_PROGRESS", tempfile.mkdtemp() + "/p.json")
            from ck_fakes import FAKE

            from coursekit.questions import use_registry

            with use_registry([FAKE]):
                assert check("ratio", quiet=True)
    finally:
        del globals()["hit_ratio"]


def test_check_prefers_ipython_user_namespace(course, monkeypatch):
    class Shell:
        user_ns = {"hit_ratio": 0.25}

    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert check("ratio", quiet=True)


def test_hints_are_tiered_and_say_when_exhausted(course, capsys):
    hint("lru_basic")
    hint("lru_basic")
    hint("lru_basic")
    hint("lru_basic")
    hint("lru_basic", 2)
    hint("lru_basic", 7)
    hint("ratio")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("• Hint 1 of 3 for lru_basic: Which key should leave")
    assert "again for a more specific one" in out[1]
    assert out[4].startswith("• Hint 3 of 3") and "OrderedDict" in out[4] and "last hint" in out[5]
    assert "No more hints for lru_basic: you've seen all 3" in out[6]
    assert out[7].startswith("• Hint 2 of 3")
    assert "lru_basic has 3 hints; ask for 1 to 3." in out[9]
    assert "No hints for ratio" in out[10]
    assert "def " not in "\n".join(out)  # hints never contain code


def test_reveal_is_locked_until_check_passes_then_shows_solution_without_markers(course, monkeypatch, capsys):
    sols = course / "solutions"
    write_solutions(sols, "90_fake", [
        code_cell("from coursekit import start\nstart('90_fake')"),
        code_cell("class LRUCache:\n    ### BEGIN SOLUTION\n    pass  # the reference\n    ### END SOLUTION\n",
                  grade_id="lru_basic", solution=True),
        code_cell("assert True", grade_id="lru_basic_tests"),
    ])
    monkeypatch.setenv("COURSEKIT_SOLUTIONS", str(sols))
    reveal("lru_basic")
    locked = capsys.readouterr().out
    assert "locked" in locked and 'run check("lru_basic") first' in locked
    assert "the reference" not in locked
    check("lru_basic", ns=run_cell(GOOD_LRU))
    capsys.readouterr()
    reveal("lru_basic")
    out = capsys.readouterr().out
    assert "pass  # the reference" in out and "BEGIN SOLUTION" not in out


def test_reveal_without_solutions_folder_is_kind(course, capsys):
    check("lru_basic", ns=run_cell(GOOD_LRU))
    capsys.readouterr()
    reveal("lru_basic")
    assert "Your instructor shares reference answers after the deadline" in capsys.readouterr().out


def test_reveal_after_earlier_pass_in_another_kernel_asks_to_recheck(course, capsys):
    check("lru_basic", ns=run_cell(GOOD_LRU), quiet=True)
    checking.reset_session()  # a new kernel, same progress file
    reveal("lru_basic")
    assert "You passed this before" in capsys.readouterr().out


def test_reflect_stub_missing_and_answered(course):
    assert check("pr_text", ns={}, quiet=True).status == "not_attempted"
    stub = check("pr_text", ns={"pr_text": "Write your PR description here."}, quiet=True)
    assert stub.status == "not_attempted" and "starter text" in stub.text()
    nb_stub = check("pr_text", ns={"pr_text": "YOUR ANSWER HERE"}, quiet=True)
    assert nb_stub.status == "not_attempted"
    wrong_type = check("pr_text", ns={"pr_text": 42}, quiet=True)
    assert wrong_type.status == "failed" and "string" in wrong_type.text()
    vague = check("pr_text", ns={"pr_text": "Refactored the cache. Please review it when you can, thanks a lot."},
                  quiet=True)
    assert vague.status == "answered" and not vague
    assert "answered — graded by your instructor" in vague.text()
    assert any(q.startswith("Which specific questions should the reviewer answer?") for q in vague.feedback[0].questions)
    assert "(…and 2 more once these are addressed)" in vague.text()  # no wall of questions
    assert "score" not in vague.text().lower()
    data = json.loads((course / "progress.json").read_text())
    assert data["modules"]["90_fake"]["pr_text"]["status"] == "answered"


def test_reflect_list_of_replies_gets_feedback_per_reply(course):
    report = check("reply", ns={"review_replies": ["Thanks.", "I will fix it."]}, quiet=True)
    assert report.status == "answered"
    assert len(report.feedback) == 2 and "Reply 2:" in report.text()


def test_html_rendering_is_small_and_escaped(course):
    ns = run_cell(GOOD_LRU.replace("return self.data[key]", "return '<script>'"))
    report = check("lru_basic", ns=ns, quiet=True)
    html = report._repr_html_()
    assert "got &#x27;&lt;script&gt;&#x27;" in html and "<script>" not in html
    assert "#cf222e" in html  # red for an error
    assert len(html) < 2000


def test_public_api_is_exported():
    for name in ("start", "check", "hint", "reveal", "progress", "Question", "Module", "Mismatch", "expect",
                 "expect_true", "Roleplay"):
        assert hasattr(coursekit, name), name
    assert callable(coursekit.progress)
    assert callable(coursekit.progress_store.print_progress)


STRONG_REPLY = (
    "Thanks, both are fair questions. If I understand the race question, the risk is two refreshes of one "
    "session both hitting the database. With singleflight the second caller joins the first one's load, and "
    "while it runs everyone gets the stale value: one query per key per expiry. On the simulated stampede the "
    "naive cache made 526 database calls with p99 at 511 ms; stale-while-revalidate made 195 calls with p99 at "
    "0 ms. I'll add the script to the PR. Does that cover what you wanted?"
)


def _reveal_text(question_id, capsys):
    capsys.readouterr()
    reveal(question_id)
    return capsys.readouterr().out


def test_reveal_after_a_weak_written_answer_never_claims_an_earlier_pass(course, capsys):
    """Issue 11, item 3: a weak reply is 'answered' but not passed; reveal must say so truthfully."""
    weak = check("91_other:reply", ns={"review_replies": ["ok fine, will look at it later maybe"]}, quiet=True)
    assert weak.status == "answered" and not weak
    out = _reveal_text("91_other:reply", capsys)
    assert "locked" in out and "You passed this before" not in out
    assert 'Your latest check("reply") does not pass yet' in out
    checking.reset_session()  # a new kernel, same progress file: still never passed
    out = _reveal_text("91_other:reply", capsys)
    assert "You passed this before" not in out and 'run check("reply") first' in out


def test_reveal_locks_again_when_the_current_answer_fails(course, capsys):
    strong = check("91_other:reply", ns={"review_replies": [STRONG_REPLY]}, quiet=True)
    assert strong, strong.text()
    assert "is locked" not in _reveal_text("91_other:reply", capsys)
    assert not check("91_other:reply", ns={"review_replies": ["fine whatever"]}, quiet=True)
    out = _reveal_text("91_other:reply", capsys)
    assert "is locked" in out and "does not pass yet" in out
    # the same for code: a pass, then a broken edit
    check("lru_basic", ns=run_cell(GOOD_LRU), quiet=True)
    assert "is locked" not in _reveal_text("lru_basic", capsys)
    check("lru_basic", ns=run_cell(GOOD_LRU.replace("return self.data[key]", "return None")), quiet=True)
    assert "is locked" in _reveal_text("lru_basic", capsys)
    checking.reset_session()  # a new kernel: it passed once, so re-checking is the way back
    assert "You passed this before" in _reveal_text("91_other:reply", capsys)


def test_start_banner_reads_well_whatever_the_title(capsys):
    """The title's own ':' or '?' never runs into the count ("is it really O(1)?: 3 questions")."""
    from coursekit.questions import Module, Question, use_registry

    for title in ("LRU: is it really O(1)?", "Plain", "Ends with a colon:", ""):
        mod = Module(id="95_demo", title=title, questions=[Question(id="a", title="A"), Question(id="b", title="B")])
        with use_registry([mod]):
            start("95_demo")
        first, second = capsys.readouterr().out.splitlines()[:2]
        assert first == (f"• Module 95_demo · {title}" if title else "• Module 95_demo")
        assert second.strip() == "2 questions: a, b."
        assert "?:" not in first + second and "::" not in first + second



def test_test_cell_after_the_check_cell_does_not_repeat_the_feedback(course, capsys):
    """check cell, then test cell (`check(q, brief=True)`): the report is printed once."""
    start("90_fake")
    capsys.readouterr()
    ns = {"hit_ratio": 1.5}
    shown = check("ratio", ns=ns)  # the learner's check cell
    assert "between 0 and 1, got 1.5" in capsys.readouterr().out
    again = check("ratio", ns=ns, brief=True)  # the test cell right after it
    assert not again and again.status == "failed"  # the test cell's assert still fails
    assert capsys.readouterr().out == ""
    assert again.text() == shown.text()
    # a changed answer (or a skipped check cell): the test cell shows the new report in full
    ns["hit_ratio"] = 2.5
    check("ratio", ns=ns, brief=True)
    assert "got 2.5" in capsys.readouterr().out
    check("ratio", ns=ns, brief=True)  # re-running the test cell clears its output: show it again
    assert "got 2.5" in capsys.readouterr().out
    # a pass, already shown by the check cell: nothing more
    ns["hit_ratio"] = 0.75
    check("ratio", ns=ns)
    capsys.readouterr()
    assert check("ratio", ns=ns, brief=True) and capsys.readouterr().out == ""


def test_brief_check_under_coursekit_grade_prints_the_report(course, capsys, monkeypatch):
    """The grader quotes what the test cell printed: there the report always shows."""
    monkeypatch.setenv("COURSEKIT_GRADING", "1")
    start("90_fake")
    check("ratio", ns={"hit_ratio": 1.5})
    capsys.readouterr()
    assert not check("ratio", ns={"hit_ratio": 1.5}, brief=True)
    assert "between 0 and 1, got 1.5" in capsys.readouterr().out


def test_an_asserted_check_is_brief_by_itself(course, capsys):
    """`assert check("q"), "…"` (every test cell) needs no flag; a bare or stored call shows the report."""
    start("90_fake")
    ns = {"hit_ratio": 1.5, "check": check}
    exec('check("ratio")', ns)
    assert "got 1.5" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="see the check cell"):
        exec('assert check("ratio"), "the visible checks above do not pass yet — see the check cell\'s feedback"', ns)
    assert capsys.readouterr().out == ""
    exec('report = check("ratio")', ns)
    assert "got 1.5" in capsys.readouterr().out
    exec('if not check("ratio"):\n    pass', ns)
    assert "got 1.5" in capsys.readouterr().out
    exec('check("ratio")\nassert True', ns)  # a bare call followed by an assert of something else
    assert "got 1.5" in capsys.readouterr().out
