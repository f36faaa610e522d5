"""Module 05's rubric: ``rollout_note``, the note to the team before a flagged rollout.

It asks what is behind the flag, the canary's stages and what moves a stage on, who watches
what, and the rollback trigger and how — and flags promises nobody can keep. Registered in
``cache_course.rubrics`` (imported from there, after the shared vocabulary it uses is defined).
"""

from __future__ import annotations

from coursekit.rubric_engine import Avoids, Mentions, NotRepetitive, NotStuffed, Prose, Rubric, WordCount

from .rubrics import NUMBER_UNIT, OVERPROMISE

__all__ = ["ROLLOUT_NOTE"]

_PERCENT = r"\d{1,3}(?:\.\d+)? ?%|\d{1,3} percent|(?:one|five|ten|twenty[- ]five|fifty|a hundred|hundred) percent|everyone|all users"
_DURATION = (
    r"(?:\d+|an?|one|two|three|four|five|six|ten|twelve|fifteen|twenty|thirty|forty[- ]eight|twenty[- ]four) "
    r"(?:minutes?|mins?|hours?|h|days?|business days?|weeks?)|overnight|a full day|until (?:monday|tuesday|"
    r"wednesday|thursday|friday|tomorrow|the next|the end)|per stage|each stage"
)
_WATCH = (
    r"(?:i|i'll|i will|i am|i'm|he|she|they|\w+) (?:will )?(?:watch(?:es|ing)?|monitor(?:s|ing)?|owns?|"
    r"keeps? an eye on|is on[- ]call|am on[- ]call|will be on[- ]call|has the pager|holds the pager|"
    r"looks? at|checks?|reviews?)|on[- ]call|(?:owner|watcher)s?:|owns? the|is watching|am watching"
)
_WATCHED = (
    r"dashboards?|p99|p50|latency|error rates?|errors|database load|db load|db calls|database calls|alerts?|"
    r"pages?|pager|burn rates?|slo|metrics|graphs?|canary (?:judge|judgement|verdicts?|checks?)|grafana|"
    r"support (?:tickets|queue|channel)|tickets|logs"
)
_ROLLBACK = (
    r"roll(?:s|ed|ing)? (?:it |the flag |everyone )?back|rollback|flag (?:goes |go |back |set )?(?:to|back to) 0|"
    r"(?:turn|switch|flip|set)(?:s|es|ed|ing|ting)? (?:the flag |it )?(?:off|to 0|to zero)|halts?|revert(?:s|ing)?|"
    r"kill switch|back to 0 ?%|to 0 ?%|to zero"
)
_TRIGGER = (
    NUMBER_UNIT + r"|(?:page|alert|burn[- ]rate alert|canary (?:check|judge|judgement)) (?:fires|goes off|says halt|"
    r"halts|pages)|(?:says|returns|gives) (?:halt|\"halt\"|'halt')|any (?:error|page|alert)|more than \w+|"
    r"above (?:the )?(?:control|\d)|worse than (?:the )?control|exceeds?|over \d"
)

ROLLOUT_NOTE = Rubric(
    name="rollout_note",
    title="The rollout note to the team",
    rules=[
        Prose(3),
        NotRepetitive(),
        NotStuffed(0.45),  # a rollout note names metrics and stages: a little more vocabulary
        WordCount("length", 50, 260),
        Mentions(
            "behind_the_flag",
            "What exactly is behind the flag? Could a teammate tell from one sentence which code path it switches "
            "on, and for whom?",
            [[r"(?:feature )?flags?|flagged|toggle|openfeature"], [r"cache|caching|refresh|wait threshold|threshold|"
             r"singleflight|key schema|code path|stale|swr|pre-?warm\w*|version|session (?:reads?|service)|new path"]],
            keyword_groups=(0,),
        ),
        Mentions(
            "stages",
            "What are the canary's stages? Which percentages of users, in which order?",
            [[_PERCENT]], negatable=False, min_distinct=2,
        ),
        Mentions(
            "stage_gate",
            "How long does each stage run, and what has to be true before it moves on?",
            [[_DURATION + r"|(?:judge|judgement|verdict|check) (?:says|returns|gives) promote|promotes?|promoted|"
              r"moves? (?:on|up|to)|advance\w*|only (?:after|once|if)|once the|until the"]],
            negatable=False,
        ),
        Mentions(
            "who_watches",
            "Who watches what: which person (or role), and which dashboard, metric or alert?",
            [[_WATCH], [_WATCHED]], keyword_groups=(1,),
        ),
        Avoids(
            "named_owners",
            "'Someone' and 'the team' watch nothing at 3 a.m. Who, by name or role?",
            [r"someone|somebody|anyone (?:can|could|will)|the team (?:will |should |can )?(?:watch|monitor|keep|look)|"
             r"everyone (?:will |should )?(?:watch|monitor|keep an eye)|we(?:'ll| will) all (?:watch|monitor)"],
        ),
        Mentions(
            "rollback_trigger",
            "What exactly triggers the rollback? Which number or alert, and who turns the flag off?",
            [[_ROLLBACK], [r"if|when|as soon as|the moment|whenever|once|on any|trigger\w*"], [_TRIGGER]],
            negatable=False, keyword_groups=(0,),
        ),
        Avoids(
            "no_overpromise",
            "Can you promise that? What could you say instead about what you'll watch and how fast you can undo it?",
            [OVERPROMISE + r"|zero risk|no risk|risk[- ]free|(?:can't|cannot|nothing can|won't) go wrong|"
             r"safe to (?:ship|roll out) to everyone|nothing to worry about|should be (?:totally |completely )?safe"],
        ),
    ],
    closing_question="If the person on call read only your note at 3 a.m., would they know when to turn the flag "
    "off, and how?",
)
