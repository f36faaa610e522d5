"""Role-play replies written into the answer cells as code: exact round trips, and never over a learner's words."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import roleplay_store
from coursekit.grading.feedback import reflective_texts
from coursekit.hidden_topics import strip_solution_markers
from coursekit.roleplay import Roleplay
from coursekit.roleplay_cells import WIDTH, assignment, cell_targets, is_starter, string_literal, write_cell

STUB = '    """\n# YOUR CODE HERE\nraise NotImplementedError()\n""",\n'
STARTER_LIST = "replies = [\n" + STUB * 3 + "]"  # what the learner's notebook holds (as nbgrader releases it)
STARTER_STR = 'reply = """\n# YOUR CODE HERE\nraise NotImplementedError()\n"""'
TRICKY = [
    'He said "it\'s fine" \\ but it wasn\'t.',
    "Line one\nline two\r\nend\t\u2014 caf\u00e9 \u2603 \U0001f600",
    'Ends in a quote"',
    "\\",
    "x" * 300,  # one long word: kept whole, never cut
    "a" + " " * 40 + "b\u2028c\x00d\ud800",  # runs of spaces, U+2028, NUL, a lone surrogate
]

text = st.text(st.characters(), min_size=1, max_size=400)


def run(source: str) -> dict:
    scope: dict = {}
    exec(compile(source, "<answer cell>", "exec"), scope)
    return scope


@settings(max_examples=300, deadline=None)
@given(st.lists(text, min_size=1, max_size=5))
def test_a_written_list_gives_back_the_exact_replies(replies):
    source = assignment("roleplay_replies", replies)
    assert run(source)["roleplay_replies"] == replies
    # what coursekit grade's feedback reads without running the cell (it trims solution markers and blanks)
    assert reflective_texts(source) == [strip_solution_markers(r) for r in replies]
    assert cell_targets(source) == ["roleplay_replies"] and not is_starter(source)


@settings(max_examples=300, deadline=None)
@given(text)
def test_a_written_string_gives_back_the_exact_reply(reply):
    assert run(assignment("apology_message", reply))["apology_message"] == reply


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("ab c\n"), min_size=1, max_size=300))
def test_lines_break_only_after_a_space_or_a_newline(reply):
    lines = string_literal(reply).split("\n")
    pieces = [ast.literal_eval(line.strip()) for line in lines]
    assert "".join(pieces) == reply
    for piece, following in zip(pieces, pieces[1:]):
        assert piece.endswith((" ", "\n")), (piece, following)  # never inside a word
        assert following  # no empty pieces
    for piece in pieces:
        if len(piece) > WIDTH:
            assert " " not in piece.rstrip(" ") and "\n" not in piece[:-1]  # only one word is ever that long


@pytest.mark.parametrize("reply", TRICKY)
def test_tricky_replies_round_trip(reply):
    assert run(assignment("r", [reply, reply]))["r"] == [reply, reply]
    assert run(assignment("s", reply))["s"] == reply
    source = assignment("r", [reply])
    source.encode("utf-8")  # a lone surrogate is escaped: the notebook file can be written


def test_a_long_reply_reads_as_lines_of_words():
    reply = ("Thanks, that's fair. If I understand you, one slow refresh holds every caller of that key, "
             "so I'll add a 100 ms wait threshold after which callers get the stale value and re-run the benchmark.")
    source = assignment("roleplay_replies", [reply])
    body = [line for line in source.splitlines() if line.strip().startswith('"')]
    assert len(body) >= 3 and all(len(line) <= WIDTH + 8 for line in body)
    assert all(line.rstrip(",").endswith(' "') for line in body[:-1])  # each line ends after a word


def test_starter_cells_and_typed_cells_are_told_apart():
    assert is_starter(STARTER_LIST) and is_starter(STARTER_STR)
    partly_typed = STARTER_LIST.replace('"""\n# YOUR CODE HERE\nraise NotImplementedError()\n"""', '"My reply."', 1)
    assert not is_starter(partly_typed)  # one typed reply makes the cell the learner's
    assert not is_starter('replies = ["Thanks, fair point."]') and not is_starter("x = (")
    assert cell_targets("replies = compute()") is None and cell_targets("import os\nreplies = []") is None


class FakeShell:
    """Records IPython's set_next_input payloads (what JupyterLab puts into the executing cell)."""

    def __init__(self):
        self.payloads: list[tuple[str, bool]] = []

    def set_next_input(self, text, replace=False):
        self.payloads.append((text, replace))


def finished(ns, rounds=3, store=None, **kw):
    rp = Roleplay([f"Critique {i}?" for i in range(rounds)], "replies", ns=ns, store=store, **kw)
    for i in range(rounds):
        rp.pause()
        rp.submit(f"My reply {i}: \"quoted\" \\ caf\u00e9.")
        rp.next()
        if rp.stage == "curveball":
            rp.pause()
    assert rp.stage == "done"
    return rp


def test_running_the_starter_cell_writes_the_replies_into_it(tmp_path):
    ns: dict = {}
    rp = finished(ns, store=tmp_path / "rp.json")
    assert "run the answer cell" in rp.widgets["critique"].value  # the last screen says what to do
    shell = FakeShell()
    ns["replies"] = ["\n# YOUR CODE HERE\nraise NotImplementedError()\n"] * 3  # the starter cell ran
    note = write_cell(rp, STARTER_LIST, shell)
    [(source, replace)] = shell.payloads
    assert replace is True and "written in this cell" in note
    assert run(source)["replies"] == rp.replies == ns["replies"]
    # running the written cell again changes nothing ...
    assert write_cell(rp, source, shell) is None and len(shell.payloads) == 1
    # ... the learner edits it: theirs, never rewritten, even after the replies change
    edited = source.replace("My reply 0", "My better reply 0")
    rp.restart(), rp.pause(), rp.submit("A newer first reply.")
    assert write_cell(rp, edited, shell) is None and len(shell.payloads) == 1
    # an unedited written cell is brought up to date, also after a kernel restart (remembered on disk)
    again = Roleplay([f"Critique {i}?" for i in range(3)], "replies", ns={}, store=tmp_path / "rp.json")
    write_cell(again, source, shell)
    assert run(shell.payloads[-1][0])["replies"][0] == "A newer first reply."


def test_an_unfinished_role_play_writes_nothing_and_says_why():
    ns: dict = {}
    rp = Roleplay(["a?", "b?"], "replies", ns=ns, store=None)
    rp.pause(), rp.submit("Only the first reply.")
    shell = FakeShell()
    note = write_cell(rp, STARTER_LIST, shell)
    assert shell.payloads == [] and "1 of 2" in note and "run this cell again" in note
    assert write_cell(rp, "unrelated = ['x']", shell) is None  # not this role-play's answer cell


def test_each_answer_cell_takes_its_own_part():
    ns: dict = {}
    rp = finished(ns, rounds=4, answers={"apology_message": 0, "status_replies": slice(1, None)})
    shell = FakeShell()
    write_cell(rp, STARTER_STR.replace("reply =", "apology_message ="), shell)
    write_cell(rp, STARTER_LIST.replace("replies =", "status_replies ="), shell)
    (first, _), (rest, _) = shell.payloads
    assert run(first)["apology_message"] == rp.replies[0] == ns["apology_message"]
    assert run(rest)["status_replies"] == rp.replies[1:] == ns["status_replies"]
    last = finished({}, rounds=2, answers={"manager_ask": -1})
    write_cell(last, STARTER_STR.replace("reply =", "manager_ask ="), shell)
    assert run(shell.payloads[-1][0])["manager_ask"] == last.replies[-1]


def test_the_post_run_hook_reads_the_cell_that_ran(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(roleplay_store, "_LIVE", {})  # this test's role-play only
    class Info:
        raw_cell = STARTER_LIST

    class Result:
        info = Info()

    ns: dict = {}
    rp = finished(ns, store=tmp_path / "rp.json")
    roleplay_store.watch_answer(rp)
    shell = FakeShell()
    ns["replies"] = ["\n# YOUR CODE HERE\nraise NotImplementedError()\n"] * 3
    roleplay_store.after_cell(Result(), shell)
    assert len(shell.payloads) == 1 and ns["replies"] == rp.replies
    assert "written in this cell" in capsys.readouterr().out
