"""Module 07 · Afterwards: the blameless post-mortem, the two changes that matter most, the ask.

The lab bench (`load_incident`, `replay`, `reference_table`, `postmortem_template`…) is in
:mod:`.lab`; the hands-on questions live once in their own files (`what_if.py`, `top_two.py`):
assertion helpers (`assert_…`, taking a seed or the learner's incident code), visible checks and
hints. The written answers (`postmortem`, `manager_ask`) are below. This file ends with the
module's ordered list of questions.
"""

from __future__ import annotations

from coursekit.questions import Module, Question
from coursekit.roleplay import Curveball

from ..lab import NBGRADER_STUB
from .lab import (
    COLUMNS,
    REMEDIATION_LABELS,
    REMEDIATIONS,
    ManagerRoleplay,
    load_incident,
    parse_code,
    plot_what_if,
    postmortem_template,
    reference_table,
    replay,
    show_postmortem,
    variant_incident,
    what_if_display,
)
from .incident_code import INCIDENT_CODE
from .top_two import TOP_TWO
from .what_if import WHAT_IF

__all__ = [
    "COLUMNS", "MANAGER_CURVEBALL", "MANAGER_PAUSE", "MANAGER_ROUNDS", "MODULE", "ManagerRoleplay", "QUESTIONS", "REMEDIATIONS", "REMEDIATION_LABELS",
    "load_incident", "parse_code", "plot_what_if", "postmortem_template", "reference_table", "replay", "show_postmortem",
    "variant_incident", "what_if_display",
]

# --------------------------------------------------------------------------- postmortem (written)

POSTMORTEM = Question(
    id="postmortem",
    title="The blameless post-mortem of your incident",
    kind="reflect",
    rubric="postmortem",
    answer="postmortem",
    placeholder=NBGRADER_STUB,
    hints=[
        "Start from the figures above: how many user-minutes over the SLO, how long to detect, how long to "
        "mitigate. Numbers first, adjectives never.",
        "For each contributing factor, say what in the system or the process allowed it and how the pieces "
        "combined ('the deploy emptied the caches, so…'). If a sentence has a person as its subject, rewrite it "
        "with the system as the subject.",
        "Write action items like '[SESS-101] P1, owner Dana, due 2026-12-08: Add a 100 ms wait threshold so that "
        "no reader waits for a slow refresh.' One owner, a date, a verb first, and at least one that prevents.",
    ],
)

# --------------------------------------------------------------------------- the ask (role-play + written)

#: The manager, one reply at a time (paraphrased from the story's last scene).
MANAGER_ROUNDS = [
    "You wanted a few minutes? I've got ten before the release sync. What's up?",
    "I hear you, but the export release is due Thursday and sales has already promised it to two customers. "
    "Can't this wait until after?",
    "Okay, that changes the picture. Be straight with me: if I give you the 48 hours, what do I get, and how "
    "will I know it's done?",
    "Fine. Put it in one message I can forward upwards: what you're asking for, for when, and what moves.",
]
#: The pause before each reply, worded for this conversation.
MANAGER_PAUSE = (
    "Before you reply: notice any tension (the jaw, the breath, the urge to apologise or to over-explain). "
    "Let one slow breath out. Then name your intention in a few words, for example \u201cI'm asking for what the "
    "work needs.\u201d"
)
MANAGER_CURVEBALL = Curveball(
    "\U0001f4ac A message lands in the team channel while you talk, from the head of product: \u201cHeads up: "
    "the big customer demo moved to tomorrow 10:00. Whatever is on the release branch is what they'll see.\u201d "
    "Your manager reads it over your shoulder.",
    after_round=1,
)

MANAGER_ASK = Question(
    id="manager_ask",
    title="The ask: 48 hours for remediation",
    kind="reflect",
    rubric="manager_ask",
    answer="manager_ask",
    placeholder=NBGRADER_STUB,
    hints=[
        "Pause first. Then the first sentence is the ask: what, for how long, from when ('Can we pause feature "
        "work on Wednesday and Thursday…').",
        "Give your manager the numbers to repeat (user-minutes over the SLO, users affected, error budget spent) "
        "and say what slips and by how long.",
        "Offer a real choice: the pause, a smaller option, or deferring with its risk. End with the exit: which "
        "number, in the replay, says you are done. It's a request for permission, not an apology.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [INCIDENT_CODE, POSTMORTEM, WHAT_IF, TOP_TWO, MANAGER_ASK]
MODULE = Module(id="07_afterwards", title="Afterwards: the post-mortem and the ask", questions=QUESTIONS)
