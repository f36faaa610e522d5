"""The rubrics of module 06 (the incident): ``status_followup`` and ``incident_checklist``.

Defined here to keep :mod:`cache_course.rubrics` small; registered by the block at its end
(imported from there, after the shared vocabulary this file uses is defined).
"""

from __future__ import annotations

import re as _re
from dataclasses import dataclass as _dataclass

from coursekit.rubric_engine import Avoids, Mentions, NotRepetitive, NotStuffed, Prose, Rubric, WordCount
from coursekit.rubric_engine import Rule as _Rule
from coursekit.rubric_text import split_sentences as _split_sentences

from .rubrics import _NUMBER_WORD, OVERPROMISE, SELF_BLAME

__all__ = ["INCIDENT_CHECKLIST", "STATUS_FOLLOWUP"]

# Grounded in PagerDuty's incident response docs (external communication, the customer liaison:
# say what is affected and since when, what we are doing, when the next update comes, never a
# resolution time) and Atlassian Statuspage's incident communication tips (plain words, no
# jargon, current state, a set time for the next update); the checklist in the Google SRE book's
# "Managing Incidents" (incident commander, operations, communications, a live document kept by
# a scribe; mitigate first, root-cause later; a clear hand-off) and PagerDuty's incident
# commander training (named roles, time-boxed steps, an update cadence, the post-mortem owner).

_WHEN = (
    r"today|tonight|tomorrow|this (?:morning|afternoon|evening|week)|next (?:hour|update|week|monday|tuesday|"
    r"wednesday|thursday|friday)|by (?:monday|tuesday|wednesday|thursday|friday|end of (?:day|the day|today)|\d)|"
    r"within (?:\d+|an?|the next|" + _NUMBER_WORD + r") \w+|in (?:\d+|an?|the next|" + _NUMBER_WORD + r") "
    r"(?:minutes?|hours?|days?)|at \d{1,2}(?::\d\d)?(?: ?[ap]m| utc)?|\d{1,2}:\d\d|every \d+ (?:minutes?|hours?)|"
    r"(?:monday|tuesday|wednesday|thursday|friday)"
)
_PLAIN_JARGON = (
    r"cach(?:e|es|ed|ing)|ttl|singleflight|stale[- ]while[- ]revalidate|swr|p\d{2,3}|percentiles?|latency|"
    r"race conditions?|mutex|locks?|locking|leases?|evict\w*|backoff|circuit[- ]breakers?|redis|thundering herd|"
    r"stampede|coalesc\w*|invalidat\w*|slos?|sla|slis?|canary|feature flags?|deploy\w*|rollback|rolled back|"
    r"hotfix|prod|database|db|backend|api|shards?|pre-?warm\w*|telemetry|error budget|wait threshold|on-call|"
    r"incident ticket|runbook"
)
_FIX_TIME = (
    r"(?:fix|fixed|resolve|resolved|solve|solved|sorted|permanent fix|root cause)(?: \w+){0,5} "
    r"(?:within|in|by) (?:the (?:next )?|an? |\d+ |one |two |three |a few |end of |tonight|tomorrow|today|monday|tuesday|"
    r"wednesday|thursday|friday)\w*"
)

STATUS_FOLLOWUP = Rubric(
    name="status_followup",
    title="A follow-up reply to the user during an incident",
    rules=[
        Prose(2),
        NotRepetitive(),
        NotStuffed(),
        WordCount("length", 20, 150, too_long="Could you say it in about {max} words? The user wants the answer, "
                  "not the whole story — what could go?"),
        Mentions(
            "current_state",
            "What is true right now, from the user's side? Could you say what works and what you are still checking?",
            [[r"(?:is|are|has been|have been|was|were) (?:now |again |already )?(?:working|back|quick|fast|normal|"
              r"safe|unchanged|intact|fine|slow|affected|unaffected|switched off|turned off|removed|undone|stable)|"
              r"(?:is|are|was|were) not (?:affected|changed|lost|touched)|right now|currently|at the moment|as of (?:\d|now|this)|since \d{1,2}(?::\d\d)?|so far|"
              r"(?:we|i)(?:'re| are| am|'m) (?:still )?(?:watching|monitoring|checking|confirming|looking|testing)|"
              r"(?:we|i) (?:have|'ve) (?:undone|removed|switched off|turned off|reversed|taken out|put back)|"
              r"(?:takes?|taking|took) (?:about |under |less than )?(?:a|one|two|\d+) (?:seconds?|minutes?)"]],
            keyword_groups=(),
        ),
        Mentions(
            "account_or_data",
            "What does this mean for their account and their data? Could you say plainly whether anything was "
            "lost or changed?",
            [[r"your (?:account|data|information|settings|history|details|files|work|sign-?ins?|signing in)|"
              r"(?:account|data|information|settings|history|details)"],
             [r"safe|unchanged|intact|lost|changed|affected|unaffected|as you left|untouched|works?|working|"
              r"normal|quick|fast|slow|nothing|no action|don't need to|do not need to|need to do"]],
            negatable=False,
            keyword_groups=(),
        ),
        Mentions(
            "next_update",
            "When will they hear from you next? A time they can hold you to keeps them from having to chase you.",
            [[r"update|write|email|message|follow up|follow-up|hear from (?:us|me)|let you know|get back to you|"
              r"tell you|send you|post|report back|contact you|summary|report"], [_WHEN]],
            negatable=False,
            keyword_groups=(0,),  # times ("13:00") split into short clauses: not counted as vocabulary
        ),
        Mentions(
            "support_route",
            "If something still looks wrong to them, what should they do — where can they reach a person?",
            [[r"reply (?:here|to this)|just reply|support|help ?desk|contact (?:us|me)|call (?:us|me|our)|chat|"
              r"reach (?:us|me)|email (?:us|me)|status page|write to (?:us|me)|phone|let (?:us|me) know|tell (?:us|me)"]],
            generic_ok=True,
        ),
        Avoids(
            "not_a_form",
            "This reads like a form with its labels filled in. How would you say it to the user, in sentences?",
            [r"^(?:current )?(?:state|status|account|data|next(?: update)?|update|support|jargon|promise|impact|"
             r"apology|ownership|cause|timeline)\s*:"],
            negatable=False,
        ),
        Avoids(
            "no_fix_time",
            "Can you promise when it will be fixed? You control the time of your next update, not the time of the "
            "fix — what could you say instead?",
            [_FIX_TIME],
        ),
        Avoids("no_overpromise", "Can you keep that promise? What can you truthfully say now?", [OVERPROMISE]),
        Avoids(
            "no_jargon",
            "Would someone who has never written software understand every word? How would you say the technical "
            "part in everyday words?",
            [_PLAIN_JARGON],
            negatable=False,
        ),
        Avoids(
            "about_them",
            "Whose feelings is this reply about? Could the words you spend on regret go to what happens next for them?",
            [SELF_BLAME],
        ),
        Avoids(
            "no_blame_shifting",
            "Does a sentence point away from us — at a vendor, at 'these things', at the user?",
            [r"not (?:my|our) fault|beyond our control|out of our (?:control|hands)|user error|on your end|"
             r"your (?:network|connection|browser|device)|these things happen|sorry for any inconvenience|"
             r"(?:caused by|due to|because of) (?:a |an |the |our )?(?:third[- ]party|vendor|provider|cloud|upstream|"
             r"another team|other team|hosting)"],
        ),
    ],
    closing_question="If the user forwarded this to their manager, would it still be true tomorrow?",
    generic_allowance=2,  # short conversational replies: "Your account is safe." is generic and still the answer
)

_ROLES = {
    "incident commander": r"incident commander|\bIC\b|\bcommander\b",
    "operations": r"\boperations\b|\bops\b",
    "communications": r"\bcommunications\b|\bcomms\b|customer liaison",
    "scribe": r"\bscribe\b",
}
#: Capitalised words that are not a person's name.
_NOT_A_NAME = frozenset(
    "The This That Team Someone Somebody Anyone Anybody Whoever Everyone Support TBD Tbd None Nobody On Call Lead "
    "Incident Commander Operations Ops Communications Comms Scribe Roles Role Step Steps Owner Owned Post Root "
    "Resolve Resolved Within After Before Then Once If When Engineering Platform Database SRE Who All We Our".split())
_NAME = r"([A-Z][a-z]{2,}(?:[- ][A-Z][a-z]+)?)"
_TIMEBOX = (
    r"within \d+ ?(?:min|minutes?|m|hours?|h)\b|by (?:minute )?\+?\d+ ?(?:min|m)?\b|after \d+ ?(?:more )?(?:min|minutes?)\b|"
    r"(?:at|by) \d{1,2}:\d\d|\+\d+ ?(?:min|m)\b|t\+\d+|from (?:the )?(?:first minute|page|\+0)|"
    r"\bif\b[^.\n]{3,70}\b(?:still|over|above|under|below|fires?|firing|fails?|slow)\b|for at most \d+|"
    r"time-?boxed to \d+|as (?:it happens|things happen)|starting when|when the page fires|once the \w+ is (?:verified|confirmed)"
)
_MITIGATE = r"roll(?:s|ed)? back|rollback|revert|switch(?:es)? (?:off|on the hotfix)|turns? (?:off|on the wait)|disable|mitigat\w*|pre-?warm\w*|halt"
_ROOT = r"root[- ]caus\w*|investigat\w*|diagnos\w*|looks? for the (?:root )?cause|find (?:out )?(?:the )?(?:cause|why)"


def _items(text: str) -> list[str]:
    return [i for i in _split_sentences(text) if i.strip()]


def _has(pattern: str, text: str, flags: int = _re.I) -> bool:
    return _re.search(pattern, text, flags) is not None


def _named(text: str) -> set[str]:
    return {m for m in _re.findall(_NAME, text) if m.split("-")[0].split(" ")[0] not in _NOT_A_NAME}


@_dataclass(frozen=True)
class _Checklist(_Rule):
    """A checklist rule over the answer's lines (a checklist is short lines, not prose)."""

    id: str
    question: str
    test: "object"

    def check(self, analysis):  # noqa: D102
        return None if self.test(analysis.raw) else self.question


def _roles(text: str) -> bool:
    return all(_has(p, text) for p in _ROLES.values())


def _role_owner(text: str) -> bool:
    """Each of the four roles is followed, within its line, by a person's name; four different people or a
    deliberate double role, at least three names."""
    owners = {}
    for item in _items(text):
        for role, pat in _ROLES.items():
            for m in _re.finditer(pat, item, _re.I):
                names = _named(item[m.end(): m.end() + 40])
                if names and role not in owners:
                    owners[role] = sorted(names)[0]
    return len(owners) == 4 and len(set(owners.values())) >= 3


def _mitigate_first(text: str) -> bool:
    items = _items(text)
    mit = [i for i, t in enumerate(items) if _has(_MITIGATE, t)]
    root = [i for i, t in enumerate(items) if _has(_ROOT, t) and not _has(r"\b(?:after|once|only after|following)\b", t)]
    return bool(mit) and (not root or mit[0] < root[0])


def _time_boxed(text: str) -> bool:
    return sum(1 for t in _items(text) if _has(_TIMEBOX, t)) >= 4


_ACTION_VERB = (r"\b(?:declares?|opens?|confirms?|names?|rolls? back|pre-?warms?|posts?|updates?|tells?|keeps?|logs?|"
                r"records?|writes?|investigates?|looks?|reports?|hands?|switch(?:es)?|turns?|calls?|owns?|runs?|"
                r"starts?|checks?|verif(?:y|ies)|pages?|decides?|delegates?|mitigates?|reverts?)\b")


def _steps_with_owners(text: str) -> bool:
    """At least four steps that say who (a name or he/she/they) does what (a verb), in six words or more."""
    return sum(1 for t in _items(text) if len(t.split()) >= 6 and _has(_ACTION_VERB, t)
               and (_named(t) or _has(r"\b(?:he|she|they)\b", t))) >= 4


def _root_after(text: str) -> bool:
    return any(_has(_ROOT, t) and _has(r"\b(?:after|once|only after|following)\b", t) for t in _items(text))


def _cadence(text: str) -> bool:
    return _has(r"every \d+ ?(?:min|minutes?|hours?|h)\b|every (?:half[- ]hour|hour|thirty minutes|fifteen minutes)|"
                r"\d+[- ]minute (?:updates?|cadence)|hourly", text)


def _verify(text: str) -> bool:
    return any(_has(r"resolv\w*|verif\w*|healthy|over\b", t) and _has(r"\d+ (?:healthy |consecutive )?minutes|"
               r"within (?:the )?slo", t) for t in _items(text))


_DATE = (r"\d{4}-\d\d-\d\d|\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*|"
         r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d{1,2}")


def _postmortem(text: str) -> bool:
    return any(_has(r"post-?mortem|incident review", t) and _has(_DATE, t) and _named(t) for t in _items(text))


INCIDENT_CHECKLIST = Rubric(
    name="incident_checklist",
    title="An incident checklist with named owners",
    rules=[
        NotRepetitive(max_repeated_share=0.35, max_word_share=0.12),  # a checklist repeats its role names
        NotStuffed(),
        WordCount("length", 60, 400),
        _Checklist("roles", "Which roles does this incident need? Name the incident commander, operations, "
                   "communications and the scribe.", _roles),
        _Checklist("named_owners", "Is every role held by a named person? Write the person's name beside each of "
                   "the four roles — 'someone' and 'the team' can't be paged.", _role_owner),
        Avoids("no_vague_owner", "Who exactly? 'Someone', 'the team', 'whoever', 'everyone' can't be paged — which "
               "person owns that step?",
               [r"\bsomeone\b|somebody|whoever|everyone|anybody|anyone|all of us|tbd|to be decided|\?\?|when possible|"
                r"at some point|as soon as possible|asap|regularly|(?:held by|owned by|owner|owners|:|\u2014|is|are) "
                r"(?:the|our) (?:[\w-]+ )?team\b|the (?:[\w-]+ )?team (?:will|should|must|can)"], negatable=False),
        _Checklist("steps_with_owners", "Does each step say who does what? Write at least four steps as 'Name "
                   "does X within/when Y'.", _steps_with_owners),
        _Checklist("mitigate_first", "Which step stops the harm, and does it come before the search for the cause? "
                   "Mitigate first, then root-cause.", _mitigate_first),
        _Checklist("time_boxes", "By when must each step happen, or what triggers it? Give at least four steps an "
                   "owner and a time-box ('within 5 minutes of the page') or a trigger ('if p99 is still over 500 ms "
                   "after 10 minutes').", _time_boxed),
        _Checklist("root_cause_after", "When does the search for the cause start, and who does it? After "
                   "mitigation, with an owner.", _root_after),
        _Checklist("update_cadence", "How often do the updates go out, in numbers? 'Every 30 minutes until "
                   "resolved' is a cadence; 'regularly' is not.", _cadence),
        _Checklist("verify_before_resolve", "How will you know it is over before you say so? Which numbers, for how "
                   "many minutes?", _verify),
        _Checklist("postmortem_owner_date", "Who owns the post-mortem, and by which date is it written?", _postmortem),
    ],
    closing_question="If you were paged at 3 a.m. and handed this, which step would you still have to ask about?",
)

