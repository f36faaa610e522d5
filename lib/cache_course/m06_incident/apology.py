"""The apology role-play (module 06): the user's messages, and feedback tied to the learner's own incident.

The rubrics (``apology`` for the first reply, ``status_followup`` for the follow-ups) ask about
the writing; :func:`incident_questions` asks about the learner's *own* incident: a reply that
says "fully restored" or "back to normal" when their verification did not show it is asked what
they can truthfully say, quoting their figure; a reply that promises a fix time is asked about
it; jargon is asked to be said in the user's words.

>>> from cache_course.incident_record import reference_incident
>>> qs = incident_questions("Your account is fully restored and the cache is warm.", reference_incident())
>>> [q.split(":")[0] for q in qs]
['You wrote \u201ccache\u201d']
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from coursekit.roleplay import Curveball, Roleplay
from coursekit.rubric_engine import Avoids, Feedback, analyse
from coursekit.rubrics import get_rubric

from ..incident_record import VERIFY_MINUTES, IncidentRecord

__all__ = ["FOLLOW_UPS", "FIRST_MESSAGE", "IncidentRoleplay", "SUPPORT_PING", "incident_questions"]

#: The user's first message (paraphrased from the story: a two-minute wait, a deadline).
FIRST_MESSAGE = (
    "I tried to sign in to my account this morning and it just sat there loading for about two minutes. "
    "I had a deadline and missed it. What is going on? This is not OK."
)
#: The user's follow-ups, one per round after the apology.
FOLLOW_UPS = (
    "Thanks for getting back to me. So what happens to my account now?",
    "OK. Just so I know where I stand: is it fully restored? Is everything back to normal?",
    "Good. And what are you actually doing so this doesn't happen to me again?",
)
SUPPORT_PING = Curveball(
    "\U0001f4ac Support lead, in your chat: \u201cthree more customers are asking the same thing; can we reuse your "
    "reply?\u201d The status page still says \u2018investigating\u2019.",
    after_round=1,
)

_RESTORED = Avoids("claims_restored", "", [
    r"fully (?:restored|recovered|fixed|resolved|back)|back to normal|completely (?:restored|fixed|resolved|normal)|"
    r"everything (?:is|'s) (?:back|normal|fine|working|ok)|all (?:fixed|clear|good|back to normal)|"
    r"(?:is|has been|have been) (?:fully |completely )?resolved|no (?:more |further )?(?:issues|problems)"])
_PROMISE = Avoids("promises_fix_time", "", [
    r"(?:fix|fixed|resolve|resolved|solve|solved|sorted|restored|permanent fix|root cause)(?: \w+){0,5} "
    r"(?:within|in|by) (?:the (?:next )?|an? |\d+ |one |two |three |a few |end of |tonight|tomorrow|today|monday|tuesday|"
    r"wednesday|thursday|friday)\w*"])
_JARGON = Avoids("jargon", "", [
    r"cach(?:e|es|ed|ing)|ttl|singleflight|stale[- ]while[- ]revalidate|swr|p\d{2,3}|percentiles?|latency|"
    r"race conditions?|mutex|locks?|locking|leases?|evict\w*|backoff|circuit[- ]breakers?|redis|thundering herd|"
    r"stampede|coalesc\w*|invalidat\w*|slos?|sla|slis?|canary|feature flags?|deploy\w*|rollback|rolled back|"
    r"roll(?:ed|ing)? back|hotfix|prod|database|db|backend|api|shards?|pre-?warm\w*|telemetry|error budget|"
    r"wait threshold|refresh(?:es)?|on-call|incident ticket|runbook"], negatable=False)


def incident_questions(reply: str, record: IncidentRecord) -> list[str]:
    """Questions about ``reply`` that only the learner's own incident ``record`` can ask."""
    a = analyse(reply)
    f = record.figures
    out: list[str] = []
    claimed = _RESTORED.offending(a)
    if claimed and not f.resolved_after_verification:
        if f.resolved_at_min is None:
            seen = f"your incident was never declared resolved, and your console shows {f.verified_minutes} healthy minutes in a row at the end"
        else:
            seen = (f"your own verification shows {f.verified_minutes} healthy minute(s) in a row before you declared "
                    f"it resolved, not the {VERIFY_MINUTES} you needed")
        out.append(f"You wrote \u201c{claimed[0]}\u201d: {seen}. What can you truthfully say about where things stand?")
    promised = _PROMISE.offending(a)
    if promised:
        mit = "no mitigation yet" if f.time_to_mitigate_min is None else f"mitigating took you {f.time_to_mitigate_min:g} minutes after the page"
        out.append(f"You wrote \u201c{promised[0]}\u201d: {mit}, and the root cause is still being worked out. "
                   "Can you keep that time? What could you promise instead — when they will hear from you next?")
    for word in dict.fromkeys(_JARGON.offending(a)):
        out.append(f"You wrote \u201c{word}\u201d: how would you say that in the user's own words?")
        break  # one at a time
    return out


class _PerRound:
    """The role-play's rubric: ``apology`` for round 0, ``status_followup`` after; plus the incident's questions."""

    def __init__(self, rp: "IncidentRoleplay") -> None:
        self.rp = rp
        self.apology, self.followup = get_rubric("apology"), get_rubric("status_followup")
        self.name, self.title = "status_followup", "A reply to the user"

    def evaluate(self, text: str) -> Feedback:
        rubric = self.apology if self.rp.round == 0 else self.followup
        fb = rubric.evaluate(text)
        if self.rp.record is not None:
            extra = [(f"incident_{i}", q) for i, q in enumerate(incident_questions(text, self.rp.record))]
            fb = Feedback(rubric, fb.analysis, extra + list(fb.results))
        return fb


class IncidentRoleplay(Roleplay):
    """The apology role-play: the user's first message, then three follow-ups; a pause before each reply.

    Replies land in ``ns[answer_name]`` (a list: the apology first, then the three follow-ups);
    running the two answer cells writes them there: ``apology_message`` (the first) and
    ``status_replies`` (the other three).
    ``record``: the learner's :class:`IncidentRecord`, for feedback tied to their incident.
    """

    def __init__(self, answer_name: str = "apology_replies", *, record: IncidentRecord | None = None,
                 ns: dict[str, Any] | None = None, curveball: Curveball | None = SUPPORT_PING) -> None:
        super().__init__([FIRST_MESSAGE, *FOLLOW_UPS], answer_name, curveball=curveball, rubric="apology",
                         reviewer="The user", ns=ns if ns is not None else _caller_ns(),
                         title="Writing to the user", next_label="Next message",
                         answers={"apology_message": 0, "status_replies": slice(1, None)})
        self.record = record
        self.rubric = _PerRound(self)

    def text(self) -> str:
        base = super().text().replace("Role-play: a code review", "Role-play: replying to the user")
        return base + ("\n\nWrite the first reply into `apology_message` (a string) and the other three into "
                       "`status_replies` (a list of three strings).")


def _caller_ns() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and isinstance(getattr(shell, "user_ns", None), dict):
        return shell.user_ns
    import sys

    return sys._getframe(2).f_globals


def ask_about_my_incident(replies: str | Sequence[str], record: IncidentRecord) -> None:
    """Print the incident-tied questions for each reply (nothing to ask: says so)."""
    texts = [replies] if isinstance(replies, str) else list(replies)
    for i, t in enumerate(texts, 1):
        qs = incident_questions(t, record)
        print(f"Reply {i}: " + ("nothing to ask from your incident's figures." if not qs else ""))
        for q in qs:
            print(f"  \u2022 {q}")


__all__.append("ask_about_my_incident")
_ = re
