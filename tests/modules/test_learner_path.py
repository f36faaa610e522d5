"""The learner's path through modules 01-03, as it reads top to bottom: a `check("q")` cell after
every answer cell, feedback printed once (the check cell), a test cell that fails with one short
line, and a banner that reads well whatever the module's title."""

from __future__ import annotations

import textwrap

import pytest
from modules_harness import code_cells

from coursekit import checking, start
from coursekit.questions import load_module

MODULES = ["01_lru", "02_stampede", "03_hol_blocking"]


@pytest.mark.parametrize("module_id", MODULES)
def test_every_code_question_has_a_check_cell_between_its_answer_and_its_test(module_id):
    cells = code_cells(module_id)
    ids = [gid for gid, _ in cells]
    for q in load_module(module_id).questions:
        if q.kind != "code":
            continue
        answer, test = ids.index(q.id), ids.index(f"test_{q.id}")
        between = [src.strip() for gid, src in cells[answer + 1:test] if gid is None]
        assert f'check("{q.id}")' in between, f"{module_id}: no check({q.id!r}) cell before its test cell"


def _run_check_then_test(module_id: str, question_id: str, answer: str) -> tuple[str, str, BaseException | None]:
    """Run the setup cell, `answer` in the answer cell, then the check cell and the test cell
    (its visible part only, as learners have it); return what each printed and what the test raised."""
    import io
    from contextlib import redirect_stdout

    cells = dict((gid, src) for gid, src in code_cells(module_id) if gid)
    ns: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
    exec(cells["setup"], ns)
    exec(textwrap.dedent(answer), ns)
    outs = []
    error = None
    for src in (f'check("{question_id}")', cells[f"test_{question_id}"].split("### BEGIN HIDDEN TESTS")[0]):
        buf = io.StringIO()
        with redirect_stdout(buf):
            try:
                exec(src, ns)
            except AssertionError as exc:
                error = exc
        outs.append(buf.getvalue())
    return outs[0], outs[1], error


@pytest.mark.parametrize(("module_id", "question_id", "answer", "says"), [
    ("01_lru", "complexity", 'complexity_choice = "A"', "complexity_choice"),
    ("03_hol_blocking", "reproduce", "def hol_p99(seed):\n    return 0.5\n", "hol_p99"),
])
def test_feedback_is_printed_once_and_the_test_cell_says_one_short_line(module_id, question_id, answer, says):
    checking.reset_session()
    check_out, test_out, error = _run_check_then_test(module_id, question_id, answer)
    assert says in check_out and "✗" in check_out, check_out
    assert test_out == "", f"the test cell repeats the feedback:\n{test_out}"
    assert isinstance(error, AssertionError), "the test cell must still fail (graders rely on it)"
    message = str(error)
    assert "\n" not in message and len(message) < 100
    assert message.startswith("the visible checks above do not pass yet") and "check cell" in message


def test_under_coursekit_grade_the_test_cell_prints_the_report(monkeypatch):
    """coursekit grade quotes what a failed visible test printed: there the report is printed."""
    monkeypatch.setenv("COURSEKIT_GRADING", "1")
    checking.reset_session()
    _, test_out, error = _run_check_then_test("01_lru", "complexity", 'complexity_choice = "A"')
    assert "complexity_choice" in test_out and isinstance(error, AssertionError)


def test_a_passing_answer_prints_its_pass_once(monkeypatch):
    checking.reset_session()
    check_out, test_out, error = _run_check_then_test("01_lru", "complexity", 'complexity_choice = "C"')
    assert "✓" in check_out and test_out == "" and error is None


def test_module_01_banner_reads_well(capsys):
    """Not "LRU: is it really O(1)?: 3 questions"."""
    start("01_lru")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "• Module 01_lru · LRU: is it really O(1)?"
    assert lines[1].strip() == "3 questions: lru_basic, hit_ratio, complexity."


def test_outage_verdict_is_a_readable_report_not_a_raw_dict():
    from modules_harness import run_question

    from cache_course.m03_hol_blocking import outage_verdict, run_outage
    from coursekit.display import Renderable

    ns = run_question("03_hol_blocking", "breaker").ns
    result, cache, breaker = run_outage(
        lambda: ns["CircuitBreaker"](failure_threshold=3, reset_timeout=1.0, call_timeout=0.5), ns["backoff"], seed=7)
    verdict = outage_verdict(result, cache, breaker)
    assert isinstance(verdict, Renderable) and verdict["breaker_state_at_end"] == "closed"  # the checks read it
    text = str(verdict)
    assert "{" not in text and "'" not in text, text
    assert text.splitlines()[0].startswith("✓ The outage with your guards: all 5")
    assert "database calls during the 4 s outage" in text and "<div" in verdict.html()

    class NeverHalfOpens(ns["CircuitBreaker"]):  # a breaker stuck open: the report says what is wrong
        async def call(self, fn):
            if self.state == "open":
                raise ns["CircuitOpen"]("stuck open")
            return await super().call(fn)

    bad = outage_verdict(*run_outage(lambda: NeverHalfOpens(failure_threshold=3, reset_timeout=1.0,
                                                            call_timeout=0.5), ns["backoff"], seed=7))
    text = str(bad)
    assert text.startswith("✗") and "✗ breaker state at the end: open" in text
    assert "after its cool-down the breaker lets a probe through" in text


def test_the_outage_plot_counts_queries_in_flight_in_whole_numbers():
    import matplotlib

    matplotlib.use("Agg")
    from cachesim.plots import plot_db_load
    from modules_harness import run_question

    from cache_course.m03_hol_blocking import run_outage

    ns = run_question("03_hol_blocking", "breaker").ns
    result, _, _ = run_outage(
        lambda: ns["CircuitBreaker"](failure_threshold=3, reset_timeout=1.0, call_timeout=0.5), ns["backoff"], seed=7)
    fig = plot_db_load(result)
    fig.canvas.draw()
    (in_flight,) = [a for a in fig.axes if a.get_ylabel() == "queries in flight"]
    ticks = [t for t in in_flight.get_yticks() if in_flight.get_ylim()[0] <= t <= in_flight.get_ylim()[1]]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
