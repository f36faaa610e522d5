"""Question `incident_code` (module 07): bring your incident from module 06, as its code.

The code travels in an answer cell (so nbgrader and ``coursekit grade`` both take it from the
learner's notebook); grading replays it, deterministically, and reads nothing else.
"""

from __future__ import annotations

import re

from coursekit.questions import NotAttempted, Question, expect_true

from .lab import parse_code, replay

_STUB = ("YOUR CODE HERE", "NotImplementedError")


def assert_incident_code(value) -> None:
    """INCIDENT_CODE holds an incident code module 06 printed, or nothing (the reference incident)."""
    expect_true("type of INCIDENT_CODE", value is None or isinstance(value, str),
                "A string in quotes (the INC-… line), or None.", expected="str or None", got=type(value).__name__)
    code = parse_code(value)
    if code is None:
        expect_true("INCIDENT_CODE", not (isinstance(value, str) and re.search(r"\binc-", value, re.I)),
                    "That looks like part of an incident code: copy the whole line module 06 printed.",
                    expected="a whole INC-… code", got=value[:40] if isinstance(value, str) else value)
        return
    try:
        replay(code)
    except ValueError as exc:
        expect_true("INCIDENT_CODE", False, str(exc), expected="a code module 06 printed", got=code[:40] + "…")


def assert_incident_replays_the_same(value) -> None:
    """The pasted incident replays to the same record twice (what grading relies on)."""
    from ..incident_record import replay_incident

    code = parse_code(value)
    first = replay_incident(code).figures
    again = replay_incident(code).figures
    expect_true("the incident replayed twice", first == again,
                "The replay of this code is not deterministic; tell your instructor (this is the course's bug).",
                expected="the same figures", got="different figures")


def check_incident_code(ns: dict) -> None:
    """INCIDENT_CODE is your incident's code from module 06, or empty for the reference incident"""
    if "INCIDENT_CODE" not in ns:
        raise NotAttempted("`INCIDENT_CODE` isn't defined yet: run its cell.")
    value = ns["INCIDENT_CODE"]
    if isinstance(value, str) and any(s in value for s in _STUB) and "INC-" not in value.upper():
        raise NotAttempted("replace the two starter lines inside the quotes with your INC-… code, or delete them "
                           "to work with the reference incident.")
    assert_incident_code(value)


INCIDENT_CODE = Question(
    id="incident_code",
    title="Your incident, from module 06",
    checks=[check_incident_code],
    hints=[
        "Module 06's last cells printed a line starting with INC-. Copy the whole line.",
        "Put it between the triple quotes, replacing the two starter lines. No code? Delete the starter lines and "
        "leave the quotes empty: you get the reference incident.",
    ],
)
