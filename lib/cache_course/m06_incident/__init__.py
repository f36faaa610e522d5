"""Module 06 · It still goes wrong: the incident console, verification, the apology, the checklist.

The incident (:mod:`.scenario`): at its canary stage the new session cache meets a curveball —
a database shard becomes about 200x slower, an app server pauses for 150 s holding its lease,
and an unrelated deploy empties every cache; one user's sign-in takes about two and a half
minutes. The learner works the :class:`IncidentConsole` (:mod:`.console`): actions at virtual
minutes, a dashboard, a deterministic replay.

**The record for module 07** (:mod:`cache_course.incident_record`, a contract):
``console.record()`` is a frozen ``IncidentRecord(seed, actions, timeline, figures)``;
``record.code()`` is the incident code (``INC-`` + base32 of zlib-compressed JSON of seed and
actions) the notebook prints at the end; ``IncidentRecord.from_code(code)`` rebuilds it
(``ValueError`` on a malformed code); ``replay_incident(record_or_code, remediations=...)``
replays it with what-if remediations (``wait_threshold``, ``bounded_refresh``,
``prewarm_on_deploy``, ``runbook_with_owners``, ``canary_slo_alerts``); ``None`` stands for the
reference incident. The timeline maps virtual minute 0 to 2026-11-24 09:00:00 UTC.

Questions, in order: ``verify`` (healthy minutes in a row), ``respond`` (work the incident:
mitigate within 5 minutes of the page, before root-causing; declare resolved only after 5
healthy minutes), and three written answers graded by hand: ``apology_message`` (rubric
``apology``), ``status_replies`` (rubric ``status_followup``; :func:`.apology.incident_questions`
adds questions tied to the learner's own incident) and ``incident_checklist``.
"""

from __future__ import annotations

from coursekit.questions import Module, Question

from ..incident_record import VERIFY_MINUTES, IncidentRecord, replay_incident, what_if
from ..lab import NBGRADER_STUB
from ..variants import variant_line
from .apology import FIRST_MESSAGE, FOLLOW_UPS, IncidentRoleplay, ask_about_my_incident, incident_questions
from .console import IncidentConsole
from .respond import MITIGATE_WITHIN_MIN, RESPOND, VERIFY, my_variant
from .scenario import ACTIONS, DURATION_MIN, SLO_OBJECTIVE, SLO_THRESHOLD

__all__ = [
    "ACTIONS", "DURATION_MIN", "FIRST_MESSAGE", "FOLLOW_UPS", "MITIGATE_WITHIN_MIN", "MODULE", "QUESTIONS",
    "SLO_OBJECTIVE", "SLO_THRESHOLD", "VERIFY_MINUTES", "IncidentConsole", "IncidentRecord", "IncidentRoleplay",
    "ask_about_my_incident", "incident_questions", "my_variant", "replay_incident", "variant_line", "what_if",
]

APOLOGY_MESSAGE = Question(
    id="apology_message",
    title="The apology: your first reply to the user",
    kind="reflect",
    rubric="apology",
    answer="apology_message",
    placeholder=NBGRADER_STUB,
    hints=[
        "Pause first. Then one plain sentence for what happened to them, and when.",
        "Say sorry once, and whose change it was. Then what is true now, and when they will hear from you next.",
        "No promises about when it will be fixed; no words they'd need an engineer to explain.",
    ],
)

STATUS_REPLIES = Question(
    id="status_replies",
    title="The follow-ups: account, restored?, never again?",
    kind="reflect",
    rubric="status_followup",
    answer="status_replies",
    placeholder=NBGRADER_STUB,
    hints=[
        "Answer the question they asked, first, in their words.",
        "What is true right now (from your console), what about their account and data, when is the next update, "
        "and where can they reach a person?",
        "'Fully restored' only if your own verification shows it; a time for the next update, not for the fix.",
    ],
)

INCIDENT_CHECKLIST = Question(
    id="incident_checklist",
    title="The incident checklist, with named owners",
    kind="reflect",
    rubric="incident_checklist",
    answer="incident_checklist",
    placeholder=NBGRADER_STUB,
    hints=[
        "Four roles, four names: incident commander, operations, communications, scribe.",
        "Each step: who, what, and a time-box or trigger ('within 10 minutes of the page', 'if p99 is still over "
        "500 ms after 10 minutes').",
        "Mitigation before root cause; the update cadence in minutes; resolve after N healthy minutes; the "
        "post-mortem's owner and date.",
    ],
)

QUESTIONS = [VERIFY, RESPOND, APOLOGY_MESSAGE, STATUS_REPLIES, INCIDENT_CHECKLIST]
MODULE = Module(id="06_incident", title="It still goes wrong: the incident", questions=QUESTIONS)
