"""The grader's pure parts, without a kernel: sources, reconstruction, discovery, reports."""
from __future__ import annotations

import json

import nbformat
import pytest

import grading_course as fc
from coursekit.grading.discover import discover
from coursekit.grading.errors import GradingError
from coursekit.grading.feedback import reflective_texts, render
from coursekit.grading.reconstruct import reconstruct
from coursekit.grading.report import grades_csv
from coursekit.grading.score import ModuleResult, Question
from coursekit.grading.source import load_sources, split_hidden


@pytest.fixture(scope="module")
def specs():
    return load_sources(fc.SOURCE)


def test_fixture_sources_are_current(tmp_path):
    fc.write_sources(tmp_path)
    for m in fc.MODULES:
        a = nbformat.read(tmp_path / f"{m}.ipynb", as_version=4)
        b = nbformat.read(fc.SOURCE / f"{m}.ipynb", as_version=4)
        assert [c.source for c in a.cells] == [c.source for c in b.cells], "run tests/grading/grading_course.py"


def test_roles_and_points(specs):
    spec = specs["00_basics"]
    assert [(c.grade_id, c.role, c.points) for c in spec.graded] == [
        ("test_add", "test", 2), ("test_mean", "test", 3), ("test_simulate", "test", 2), ("reflection", "manual", 2)]
    assert spec.by_id("test_mean").answers == ["mean"]
    assert "math" in spec.imports
    assert spec.by_id("setup").binds == ["math", "random", "_tolerance", "close", "Report"]


def test_split_hidden_keeps_visible_and_hidden_apart():
    segs = split_hidden("a = 1\n### BEGIN HIDDEN TESTS\nassert a\n### END HIDDEN TESTS\nassert a == 1\n")
    assert [(s.kind, s.code) for s in segs] == [("visible", "a = 1"), ("hidden", "assert a"), ("visible", "assert a == 1")]
    # hidden tests inside a block cannot be cut: the whole cell counts as hidden
    segs = split_hidden("for x in [1]:\n    assert x\n    ### BEGIN HIDDEN TESTS\n    assert x > 0\n    ### END HIDDEN TESTS\n")
    assert len(segs) == 1 and segs[0].kind == "hidden" and "BEGIN" not in segs[0].code


def test_reconstruct_takes_only_answer_cells(specs, tmp_path):
    nb = fc.solved()
    nb.cells[fc.cell_index(nb, "test_add")].source = "pass"
    del nb.cells[fc.cell_index(nb, "simulate")]
    nb.cells.append(nbformat.v4.new_code_cell("print('scratch')"))
    p = tmp_path / "n.ipynb"
    nbformat.write(nb, p)
    rec = reconstruct(specs["00_basics"], p)
    assert rec.answers["add"] == fc.SOLVED["add"]
    assert rec.missing == {"simulate"} and rec.untouched == {"reflection"}
    joined = " ".join(rec.notes)
    assert "`test_add` was edited" in joined and "`simulate` is missing" in joined and "1 code cell(s)" in joined


@pytest.mark.parametrize("text,why", [
    ("{not json", "not valid JSON"),
    (json.dumps({"cells": "nope"}), "not a Jupyter notebook"),
    ("", "not valid JSON"),
])
def test_unreadable_notebooks(specs, tmp_path, text, why):
    p = tmp_path / "bad.ipynb"
    p.write_text(text)
    assert why in reconstruct(specs["00_basics"], p).unreadable


def test_discover_layouts(tmp_path):
    fc.write_submissions(tmp_path / "course" / "submitted", {"zoe": {"01_extra": fc.solution_nb("01_extra")},
                                                             "amy": {"00_basics": fc.solution_nb("00_basics")}})
    subs = discover(tmp_path / "course", fc.MODULES)  # a folder holding submitted/
    assert [(s.learner, s.module) for s in subs] == [("amy", "00_basics"), ("zoe", "01_extra")]
    with pytest.raises(GradingError, match="unknown module"):
        discover(tmp_path / "course", fc.MODULES, ["nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(GradingError, match="no submissions"):
        discover(tmp_path / "empty", fc.MODULES)


def test_csv_is_deterministic_and_formats_numbers():
    r = ModuleResult("a", "m", [Question("q1", 2.0, "passed", 2.0), Question("q2", 1.5, "failed", 0.0),
                                Question("r", 2, "manual", None, manual=True),
                                Question("s", 3, "graded", 2.5, manual=True, comment='Good, "but": name a metric')],
                     [])
    assert grades_csv([r]) == ("learner,module,question,score,max,status,comment\n"
                               "a,m,q1,2,2,passed,\na,m,q2,0,1.5,failed,\na,m,r,,2,manual,\n"
                               'a,m,s,2.5,3,graded,"Good, ""but"": name a metric"\n')
    assert (r.score, r.max, r.manual_score, r.manual_max, r.manual_pending) == (2.0, 3.5, 2.5, 5, 1)


def test_a_missing_module_has_no_score_and_counts_toward_max(specs):
    from coursekit.grading.report import summary
    from coursekit.grading.score import missing_module

    done = ModuleResult("amy", "00_basics", [Question("test_add", 2, "passed", 2.0),
                                             Question("reflection", 2, "not attempted", 0.0, manual=True)], [])
    gone = missing_module("amy", specs["01_extra"])
    assert grades_csv([gone]) == ("learner,module,question,score,max,status,comment\n"
                                  "amy,01_extra,test_double,,1,missing,\n")
    s = summary([done, gone], fail_under=80)
    amy = s["learners"]["amy"]
    assert amy["modules"]["01_extra"]["score"] is None and amy["modules"]["01_extra"]["status"] == "missing"
    assert (amy["score"], amy["max"], amy["percent"], amy["missing"]) == (2.0, 3.0, 66.67, ["01_extra"])
    assert s["missing"] == ["amy/01_extra"] and s["below_pass_mark"] == ["amy"]
    nobody = summary([missing_module("zed", specs["00_basics"])], fail_under=0)
    assert nobody["learners"]["zed"]["score"] is None and nobody["learners"]["zed"]["percent"] is None
    assert nobody["below_pass_mark"] == ["zed"], "a learner who submitted nothing cannot pass"


def test_with_missing_adds_every_learner_module_pair_without_a_notebook(tmp_path):
    from coursekit.grading.discover import with_missing

    fc.write_submissions(tmp_path / "s", {"amy": {"00_basics": fc.solution_nb("00_basics"),
                                                  "01_extra": fc.solution_nb("01_extra")},
                                          "bo": {"01_extra": fc.solution_nb("01_extra")}})
    (tmp_path / "s" / "bo" / "00_basics").mkdir()  # collected, but no notebook in it
    subs = with_missing(discover(tmp_path / "s", fc.MODULES), fc.MODULES, learners=["cy"])
    assert [(s.key, s.missing) for s in subs] == [
        ("amy/00_basics", False), ("amy/01_extra", False), ("bo/00_basics", True), ("bo/01_extra", False),
        ("cy/00_basics", True), ("cy/01_extra", True)]
    only = with_missing(discover(tmp_path / "s", fc.MODULES, ["01_extra"]), fc.MODULES, ["01_extra"], ["cy"])
    assert [(s.key, s.missing) for s in only] == [("amy/01_extra", False), ("bo/01_extra", False),
                                                  ("cy/01_extra", True)]


def test_feedback_escapes_learner_text():
    r = ModuleResult("<b>x</b>", "m", [Question("q", 1, "failed", 0, "A visible test failed", "<script>")], [])
    page = render(r)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_reflective_text_is_parsed_not_run():
    assert reflective_texts('answer = """I am sharing this draft."""') == ["I am sharing this draft."]
    assert reflective_texts("import os; os.system('x')") is None


def test_a_list_answer_gets_rubric_questions_per_reply():
    from coursekit.grading.feedback import rubric_questions

    good = ("Thanks, that's a fair point. If I understand you, one slow refresh makes every caller wait. "
            "I'll add a 100 ms wait threshold and re-run the benchmark: p99 should drop from 1.9 s to 100 ms.")
    answer = f"roleplay_replies = [{good!r}, 'ok fine']"
    asks = rubric_questions("03_hol_blocking", "roleplay_replies", answer)
    assert asks and all(a.startswith("Reply 2: ") for a in asks), asks
    # capped as in the notebook: four questions, then how many more wait
    assert len(asks) == 5 and asks[-1].endswith("more once these are addressed)"), asks
    assert rubric_questions("03_hol_blocking", "roleplay_replies", f"roleplay_replies = [{good!r}]") == []


def test_job_and_events_cross_the_pipe_as_typed_json(specs, tmp_path):
    from coursekit.grading.engine import build_steps
    from coursekit.grading.protocol import Event, Job

    spec = specs["00_basics"]
    rec = reconstruct(spec, _write(tmp_path, fc.solution_nb("00_basics")))
    job = Job(steps=build_steps(spec, rec), guard_modules=spec.imports, sandbox={"level": "none"})
    again = Job.from_json(job.to_json())
    assert again == job
    assert [s.role for s in again.steps if s.role == "test"] == ["test"] * 3
    ev = Event(event="step", question=4, id=4, status="ok", restored=["close"])
    assert Event.from_json(ev.to_json()) == ev
    assert "evalue" not in ev.to_json()  # unset fields do not travel
    assert Event.from_json("not json") is None and Event.from_json('{"no": "event"}') is None


def test_a_question_kernel_runs_only_the_answers_it_reads(specs, tmp_path):
    # test_simulate reads `simulate` only: the `mean` cell (and any trick in it) never runs in its kernel
    from coursekit.grading.engine import question_cells

    spec = specs["00_basics"]
    rec = reconstruct(spec, _write(tmp_path, fc.solved(simulate="def simulate(steps):\n    return mean([steps])")))
    runs = question_cells(spec, rec)
    test = {c.grade_id: c.index for c in spec.cells if c.role == "test"}
    assert runs["mean"] == [test["test_mean"], test["test_simulate"]]  # simulate() calls mean()
    assert runs["add"] == [test["test_add"]]
    rec = reconstruct(spec, _write(tmp_path, fc.solved()))
    assert question_cells(spec, rec)["mean"] == [test["test_mean"]]


def test_one_parser_per_marker_kind():
    from coursekit import hidden_topics, nbgrader_ext
    from coursekit.grading import feedback, source

    assert nbgrader_ext.hidden_line_numbers is hidden_topics.hidden_line_numbers
    assert feedback.strip_solution_markers is hidden_topics.strip_solution_markers
    assert source.split_hidden_regions is hidden_topics.split_hidden_regions
    cell = "x = 1\n### BEGIN HIDDEN TESTS\n# about: edge cases\nassert f(0)\n### END HIDDEN TESTS\nassert g()"
    assert hidden_topics.split_hidden_regions(cell) == [
        ("visible", "x = 1"), ("hidden", "# about: edge cases\nassert f(0)"), ("visible", "assert g()")]
    assert hidden_topics.topic_at(cell, 4) == "edge cases" and hidden_topics.topic_at(cell, 1) is None


def _write(tmp_path, nb):
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path
