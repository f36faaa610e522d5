"""The role-play: widgets driven by their click handlers, and the headless path."""

from __future__ import annotations

import io

import pytest

from coursekit.roleplay import HARSH_REVIEW, PAGER_ALERT, Curveball, Roleplay

GOOD_REPLY = (
    "Thanks, that's a fair point. If I understand you, one slow refresh makes every caller of the key wait. "
    "I'll add a 100 ms wait threshold after which callers get the stale value, and I expect p99 to drop from "
    "2,000 ms to under 120 ms on the seeded scenario."
)
STUFFED_REPLY = "thanks fair point p99 ms benchmark singleflight, threshold, stale, latency, 100 ms, mitigation"


@pytest.fixture
def rp():
    return Roleplay(list(HARSH_REVIEW), "review_replies", curveball=PAGER_ALERT, ns={})


def click(widget):
    widget.click()  # runs the on_click handlers, as a frontend click would


def test_sending_is_locked_until_the_learner_pauses(rp):
    w = rp.widgets
    assert "Reviewer:" in w["critique"].value and "no numbers" in w["critique"].value
    assert "slow breath out" in w["pause_prompt"].value and "I&#x27;m sharing this draft" in w["pause_prompt"].value
    assert w["submit"].disabled and w["next"].disabled
    # the box itself is editable (a disabled box passes typed keys to the notebook's shortcuts)
    assert not w["reply"].disabled and w["reply"].placeholder.startswith("Pause first")
    w["reply"].value = "early draft"
    click(w["submit"])  # disabled in a frontend; even if called, nothing is stored
    assert rp.replies == [] and "review_replies" not in rp.ns
    assert w["reply"].value == "early draft"  # the draft is held, not thrown away
    click(w["pause_button"])
    assert not w["reply"].disabled and not w["submit"].disabled
    assert w["pause_button"].layout.display == "none"
    assert w["reply"].value == "early draft" and w["reply"].placeholder == Roleplay.PLACEHOLDER_REPLY


def test_the_reply_box_is_never_disabled_and_takes_the_focus_after_every_click(rp, monkeypatch):
    w = rp.widgets
    focused = []
    monkeypatch.setattr(w["reply"], "focus", lambda: focused.append(rp.stage))
    for i in range(3):
        assert not w["reply"].disabled
        click(w["pause_button"])
        assert not w["reply"].disabled
        w["reply"].value = f"{GOOD_REPLY} ({i})"
        click(w["submit"])
        click(w["next"])
        assert w["reply"].value == ""  # a fresh box for each critique
        if rp.stage == "curveball":
            assert not w["reply"].disabled and "Pause again" in w["reply"].placeholder
            click(w["pause_button"])
    assert rp.stage == "done"
    # every click but the last (Finish) handed the focus back to the box
    assert focused == ["reply", "feedback", "pause", "reply", "feedback", "curveball", "pause",
                       "reply", "feedback"]
    # over: the box and its buttons are hidden, not left as disabled look-alikes
    assert {w[k].layout.display for k in ("reply", "submit", "next", "pause_button")} == {"none"}


def test_submit_runs_the_rubric_stores_the_reply_and_shows_questions(rp):
    w = rp.widgets
    click(w["pause_button"])
    w["reply"].value = STUFFED_REPLY
    click(w["submit"])
    assert rp.ns["review_replies"] == [STUFFED_REPLY]
    assert "This reads like a list of the terms a checklist looks for" in w["feedback"].value
    assert not w["next"].disabled
    # revise and send again: the round's entry is replaced, not appended
    w["reply"].value = GOOD_REPLY
    click(w["submit"])
    assert rp.ns["review_replies"] == [GOOD_REPLY]
    assert "checklist can&#x27;t judge quality" in w["feedback"].value


def test_blank_reply_is_not_stored(rp):
    w = rp.widgets
    click(w["pause_button"])
    w["reply"].value = "   "
    click(w["submit"])
    assert rp.replies == [] and "Write a reply first." in w["feedback"].value


def test_full_run_with_curveball_in_the_middle(rp):
    w = rp.widgets
    seen = []
    for i in range(3):
        assert rp.stage == "pause" and rp.round == i
        seen.append(w["critique"].value)
        click(w["pause_button"])
        w["reply"].value = f"{GOOD_REPLY} (round {i + 1})"
        click(w["submit"])
        click(w["next"])
        if i == 1:  # default: the curveball comes after the middle round
            assert rp.stage == "curveball"
            assert "Pager alert" in w["critique"].value and "Pause again" in w["pause_prompt"].value
            assert w["submit"].disabled and not w["pause_button"].disabled
            click(w["pause_button"])
    assert rp.stage == "done"
    assert "last round" in w["critique"].value and "run the answer cell" in w["critique"].value
    code = rp.answer_code()
    assert "\nreview_replies = [" in code and "(round 3)" in code
    scope: dict = {}
    exec(code, scope)  # what running the answer cell writes there recreates exactly the stored replies
    assert scope["review_replies"] == rp.ns["review_replies"]
    assert [r[-9:] for r in rp.ns["review_replies"]] == ["(round 1)", "(round 2)", "(round 3)"]
    assert "two seconds" in seen[1] and "safe to ship" in seen[2]  # escalating critiques, in order
    assert w["reply"].layout.display == "none" and w["next"].disabled


def test_curveball_position_can_be_set():
    rp = Roleplay(["a?", "b?", "c?"], "r", curveball=Curveball("Phone buzzes.", after_round=0), ns={})
    rp.pause(), rp.submit(GOOD_REPLY), rp.next()
    assert rp.stage == "curveball"
    rp.pause()
    assert rp.stage == "pause" and rp.round == 1


def test_headless_display_prints_everything_and_never_waits(monkeypatch, capsys):
    ns: dict = {}
    rp = Roleplay(list(HARSH_REVIEW), "review_replies", curveball=PAGER_ALERT, ns=ns)
    rp.display()  # no kernel here: the headless path
    out = capsys.readouterr().out
    assert "review_replies = [" in out and "one per critique" in out
    assert out.index("Critique 1 of 3") < out.index("Critique 2 of 3") < out.index("Pager alert") < out.index(
        "Critique 3 of 3")
    assert "Pause again before you go on." in out
    assert ns == {}  # nothing written, nothing blocked
    buf = io.StringIO()
    rp.display(stream=buf)
    assert buf.getvalue().strip() == out.strip()


def test_default_namespace_is_the_callers_globals():
    rp = Roleplay(["Why?"], "_ck_roleplay_answer")
    rp.pause()
    rp.submit(GOOD_REPLY)
    try:
        assert globals()["_ck_roleplay_answer"] == [GOOD_REPLY]
    finally:
        globals().pop("_ck_roleplay_answer", None)


def test_needs_rounds():
    with pytest.raises(ValueError):
        Roleplay([], "x", ns={})


def test_rerunning_the_cell_carries_on_where_the_learner_stopped():
    ns = {"review_replies": ["first", "second"]}
    rp = Roleplay(list(HARSH_REVIEW), "review_replies", curveball=PAGER_ALERT, ns=ns)
    assert (rp.stage, rp.round, rp.curveball_seen) == ("pause", 2, True)  # not critique 1 again
    w = rp.widgets
    assert "safe to ship" in w["critique"].value and "carrying on with critique 3" in w["feedback"].value
    rp.pause()
    rp.submit(GOOD_REPLY)
    rp.next()
    assert rp.stage == "done" and ns["review_replies"] == ["first", "second", GOOD_REPLY]
    assert w["again"].layout.display is None
    click(w["again"])  # go through it again: each reply is kept until replaced
    assert (rp.stage, rp.round) == ("pause", 0)
    rp.pause()
    rp.submit("A better first reply.")
    assert ns["review_replies"] == ["A better first reply.", "second", GOOD_REPLY]
    done = Roleplay(list(HARSH_REVIEW), "review_replies", ns=ns)
    assert done.stage == "done"


def test_starter_text_is_not_a_reply():
    stub = {"review_replies": "YOUR ANSWER HERE"}
    assert Roleplay(["Why?"], "review_replies", ns=stub).replies == []
    stubs = {"r": ["\n# YOUR CODE HERE\nraise NotImplementedError()\n"] * 3}
    rp = Roleplay(list(HARSH_REVIEW), "r", ns=stubs)
    assert rp.replies == [] and (rp.stage, rp.round) == ("pause", 0)


def test_replies_survive_a_kernel_restart_and_the_starter_cell(tmp_path):
    store = tmp_path / ".coursekit" / "roleplay-r.json"
    rp = Roleplay(list(HARSH_REVIEW), "r", ns={}, store=store)
    rp.pause()
    rp.submit(GOOD_REPLY)
    assert store.is_file()
    fresh: dict = {}  # a restarted kernel: an empty namespace, the same folder
    again = Roleplay(list(HARSH_REVIEW), "r", ns=fresh, store=store)
    assert again.replies == [GOOD_REPLY] and fresh["r"] == [GOOD_REPLY] and again.round == 1
    # Run All: the untouched answer cell assigns its starter text after the widget ran ...
    fresh["r"] = ["\n# YOUR CODE HERE\nraise NotImplementedError()\n"] * 3
    from coursekit import roleplay_store as module

    module.restore_replies()  # ... and the post-run hook puts the replies back
    assert fresh["r"] == [GOOD_REPLY]
    fresh["r"] = ["My own pasted reply."]  # a real answer in the cell is the learner's choice
    module.restore_replies()
    assert fresh["r"] == ["My own pasted reply."]


def test_the_widget_names_the_conversation_it_is():
    # a role-play with a user, not a reviewer, says so in its heading and its "go on" button
    rp = Roleplay(["Hello?", "And now?"], "r", ns={}, store=None, title="Writing to the user", next_label="Next message")
    w = rp.widgets
    rp._render()
    assert "Writing to the user — round 1 of 2" in w["header"].value and "Code review" not in w["header"].value
    assert w["next"].description == "Next message"
