"""Broken or hostile submissions — one test each.

All learners are graded in one run (``hostile_run``): each test checks that its
learner loses only the points in question, that the feedback says why, and the
shared checks at the end prove every other learner's grade is intact.
"""
from __future__ import annotations

import re

import pytest

import grading_course as fc

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("grading")]

FULL = {"test_add": "2", "test_mean": "3", "test_simulate": "2"}


def assert_only(run, learner: str, lost: dict[str, str], reflection: tuple[str, str] = ("0", "not attempted")) -> None:
    """``learner`` scored full marks except on the questions in ``lost`` (question -> status);
    the reflection is (score, status): by default it still holds the starter text."""
    for q, pts in FULL.items():
        row = run.row(learner, q)
        if q in lost:
            assert row["score"] == "0" and row["status"] == lost[q], f"{row}\n{run.feedback(learner)}"
        else:
            assert row["score"] == pts and row["status"] == "passed", f"{row}\n{run.feedback(learner)}"
    # starter text: 0, "not attempted", as nbgrader's autograde records it; written: waits for a person
    assert (run.row(learner, "reflection")["score"], run.row(learner, "reflection")["status"]) == reflection


def test_solution_gets_full_marks(hostile_run):
    assert_only(hostile_run, "alice", {}, reflection=("", "manual"))
    assert hostile_run.row("alice", "test_double", "01_extra")["score"] == "1"
    assert hostile_run.summary["learners"]["alice"]["percent"] == 100.0


def test_untouched_exercise_scores_zero_without_crashing(hostile_run):
    for q in FULL:
        assert hostile_run.row("bob", q)["score"] == "0"
        assert hostile_run.row("bob", q)["status"] == "not attempted"
    assert hostile_run.row("bob", "test_double", "01_extra")["status"] == "not attempted"
    assert "still holds the starter code" in hostile_run.feedback("bob")


def test_syntax_error(hostile_run):
    assert_only(hostile_run, "syntax", {"test_add": "error"})
    fb = hostile_run.feedback("syntax")
    assert "Your answer cell `add` raised SyntaxError" in fb


def test_infinite_loop_is_interrupted_at_the_cell_timeout(hostile_run):
    assert_only(hostile_run, "loop", {"test_mean": "timeout"})
    fb = hostile_run.feedback("loop")
    assert "Your answer cell `mean` ran past 10 s and was stopped" in fb
    assert "This test was not run" not in fb and "NameError" not in fb


def test_cell_that_ignores_interrupts_is_a_timeout_not_an_error(hostile_run):
    assert_only(hostile_run, "stubborn", {"test_mean": "timeout"})
    fb = hostile_run.feedback("stubborn")
    assert "Your cell `mean` ran past 10 s and was stopped" in fb
    assert "This test was not run" not in fb


def test_simulation_that_never_finishes_and_ignores_interrupts(hostile_run):
    assert_only(hostile_run, "sim", {"test_simulate": "timeout"})
    fb = hostile_run.feedback("sim")
    assert "did not finish within 10 s" in fb and "kernel was stopped" in fb


def test_kernel_that_dies_does_not_count_as_passed(hostile_run):
    # os._exit(0) in a hidden test's call: exit status 0 must not read as success
    assert_only(hostile_run, "died", {"test_simulate": "kernel died"})
    assert "The kernel died while running a hidden test" in hostile_run.feedback("died")


def test_deleted_duplicated_and_edited_cells_change_nothing(hostile_run):
    # test_add edited to `assert True` (add is wrong), setup and test_simulate deleted,
    # `mean` duplicated with a wrong second copy
    assert_only(hostile_run, "cells", {"test_add": "failed"})
    fb = hostile_run.feedback("cells")
    assert "The test cell `test_add` was edited" in fb
    assert "The locked cell `setup` was deleted" in fb
    assert "The test cell `test_simulate` was deleted" in fb
    assert "2 cells with id `mean`; the grader used the first one" in fb


def test_monkeypatched_helpers_are_restored(hostile_run):
    # `close = lambda *a: True` and `math.isclose = ...` would pass the hidden test
    assert_only(hostile_run, "monkey", {"test_mean": "failed"})
    fb = hostile_run.feedback("monkey")
    assert "restored what your code had replaced" in fb
    assert "`close`" in fb and "`math.isclose`" in fb
    assert "Tests always use the original helpers" not in fb


def test_hooked_run_cell_cannot_swallow_test_failures(hostile_run):
    assert_only(hostile_run, "hooker", {"test_add": "failed"})
    fb = hostile_run.feedback("hooker")
    assert "`get_ipython().run_cell`" in fb and "The test ran with the originals" in fb


# -- issue 10: one learner per class of trick, each on question `mean` (or `add`) ----------------
# Each scores 0 on that question only (assert_only), the feedback says why in plain words, and the
# shared leak test below covers every one of them.

def test_ast_transformer_is_removed_before_the_tests(hostile_run):
    assert_only(hostile_run, "ast", {"test_mean": "failed"})
    fb = hostile_run.feedback("ast")
    assert "restored what your code had replaced" in fb and "ast transformers" in fb
    assert "fails a hidden test" in fb


def test_replaced_kernel_execute_cannot_fake_a_pass(hostile_run):
    assert_only(hostile_run, "kernel", {"test_mean": "failed"})
    assert "stopped the grader from preparing the tests" in hostile_run.feedback("kernel")


def test_grader_restore_step_cannot_be_switched_off(hostile_run):
    # the guard is in no module and no namespace: finding it takes gc, which the audit hook reports
    assert_only(hostile_run, "restorer", {"test_mean": "failed"})
    fb = hostile_run.feedback("restorer")
    assert "No points" in fb and "looked through the interpreter's objects (gc.get_objects)" in fb


def test_patched_submodule_of_a_test_dependency_is_restored(hostile_run):
    assert_only(hostile_run, "submodule", {"test_add": "failed"})
    assert "`unittest.util.safe_repr`" in hostile_run.feedback("submodule")


def test_patched_class_attributes_and_pinned_seed_are_restored(hostile_run):
    assert_only(hostile_run, "classattr", {"test_mean": "failed"})
    fb = hostile_run.feedback("classattr")
    assert "Report.__bool__" in fb and "`random.seed`" in fb


def test_swapped_code_object_of_a_private_helper_is_put_back(hostile_run):
    assert_only(hostile_run, "codeswap", {"test_mean": "failed"})
    fb = hostile_run.feedback("codeswap")
    assert "_tolerance" in fb and "The test ran with the originals" in fb


def test_background_thread_replanting_fakes_scores_zero(hostile_run):
    assert_only(hostile_run, "thread", {"test_mean": "failed"})
    fb = hostile_run.feedback("thread")
    assert "No points" in fb and "background thread" in fb


def test_trace_function_scores_zero(hostile_run):
    assert_only(hostile_run, "tracer", {"test_mean": "failed"})
    assert "installed a trace function (sys.settrace)" in hostile_run.feedback("tracer")


def test_code_that_captures_hidden_tests_cannot_show_them(hostile_run):
    # a pre_run_cell hook, linecache and the caller's frame all see the hidden test; the answer
    # raises what it saw, but after hidden code arrived nothing learner-made leaves the kernel
    assert_only(hostile_run, "leaker", {"test_mean": "error"})
    fb = hostile_run.feedback("leaker")
    assert "fails a hidden test (RuntimeError)" in fb
    assert "hidden-line" not in fb and "coursekit.done" not in fb


def test_memory_cap_holds_for_the_whole_process_tree(hostile_run):
    # a kernel of 120 MB and three children of 330 MB: each under the cap, together over it
    assert_only(hostile_run, "hog", {"test_add": "error"})
    assert "over the grader's limit for one learner" in hostile_run.feedback("hog")
    assert re.search(r"limits per learner: \d+ MB of memory and \d+ processes", hostile_run.proc.stderr)


def test_megabytes_of_output(hostile_run):
    assert_only(hostile_run, "flood", {})
    assert re.search(r"printed \d+\.\d MB of output; the grader discarded it", hostile_run.feedback("flood"))
    size = sum(p.stat().st_size for p in hostile_run.out.rglob("*") if p.is_file())
    assert size < 1_000_000  # nothing of the flood reaches the outputs


def test_malformed_notebook_json(hostile_run):
    for q in FULL:
        assert hostile_run.row("malformed", q)["score"] == "0"
    assert "could not read your notebook: it is not valid JSON" in hostile_run.feedback("malformed")


def test_code_looking_for_hidden_tests_on_disk_finds_none(hostile_run):
    if "namespaces" not in hostile_run.proc.stderr:
        pytest.skip("no mount namespace on this machine: the sources stay readable (socket-guard fallback)")
    # the learner's add() raises if its walk (cwd, every parent, the course's source folders,
    # wherever this checkout lives) found hidden-test text, and returns None if it scanned nothing
    assert_only(hostile_run, "snoop", {})


def test_reading_process_memory_scores_zero(hostile_run):
    # the kernel's own memory holds the guard's key: opening any /proc/…/mem is reported at once
    assert_only(hostile_run, "memsnoop", {"test_add": "failed"})
    assert "opened a process's memory (/proc/…/mem)" in hostile_run.feedback("memsnoop")


def test_code_cannot_plant_files_in_the_toolkit(hostile_run):
    if "namespaces" not in hostile_run.proc.stderr:
        pytest.skip("no mount namespace on this machine: the toolkit stays writable (socket-guard fallback)")
    assert_only(hostile_run, "writer", {})
    assert not hostile_run.probe_planted


def test_network_call_to_a_local_server_fails_fast(hostile_run):
    # the learner's add() asserts its connection to the test's 127.0.0.1 server failed within 2 s
    assert_only(hostile_run, "net", {})
    assert hostile_run.accepted == []


def test_one_learners_breakage_leaves_the_gradebook_intact(hostile_run):
    rows = list(hostile_run.rows)
    learners = sorted({r[0] for r in rows})
    assert learners == sorted(fc.hostile_learners(1, []))
    lines = hostile_run.csv_text.splitlines()
    assert lines[0] == "learner,module,question,score,max,status,comment"
    # who submitted only 00_basics is missing 01_extra: an empty score, never 0
    assert hostile_run.row("loop", "test_double", "01_extra")["status"] == "missing"
    assert hostile_run.row("loop", "test_double", "01_extra")["score"] == ""
    assert [line.split(",")[0] for line in lines[1:]] == sorted(line.split(",")[0] for line in lines[1:])
    for learner in learners:
        assert (hostile_run.out / "feedback" / learner / "00_basics.html").is_file()
    assert "grader error" not in hostile_run.csv_text


def test_grading_twice_gives_identical_csv(hostile_run, hostile_rerun):
    assert hostile_rerun.proc.returncode == 0
    assert hostile_rerun.csv_text == hostile_run.csv_text
    assert hostile_rerun.summary == hostile_run.summary


def test_feedback_leaks_no_hidden_tests_or_solutions(hostile_run):
    files = [p for p in hostile_run.out.rglob("*") if p.is_file()]
    assert files
    texts = {p: p.read_text() for p in files}
    texts["stderr"] = hostile_run.proc.stderr + hostile_run.proc.stdout
    for where, text in texts.items():
        for needle in ["HIDDEN TESTS", "BEGIN SOLUTION", "hidden-line-", "sol-line-",
                       *fc.HIDDEN_LINES, *fc.SOLUTION_LINES,
                       "add(-7, 7)", "mean([0.1] * 10)", "simulate(10)", "double(-4)",
                       "safe_repr(add(20, 22))", "random.choice([10, 11])", "coursekit.done"]:
            assert needle not in text, f"{needle!r} leaked into {where}"


def test_progress_lines_on_stderr(hostile_run):
    assert re.search(r"^graded alice/00_basics 7/7 in \d+\.\d s", hostile_run.proc.stderr, re.M)
    assert re.search(r"^graded bob/01_extra 0/1 in \d+\.\d s", hostile_run.proc.stderr, re.M)
