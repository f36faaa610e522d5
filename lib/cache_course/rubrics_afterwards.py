"""Module 07's rubrics, ``postmortem`` and ``manager_ask``, registered by the last block of
:mod:`cache_course.rubrics` (kept in their own file so that no content file outgrows the layout
test's 450 lines).

Grounded in Google's SRE book ("Postmortem Culture: Learning from Failure") and workbook
("Postmortem Culture"), PagerDuty's post-mortem template and its blameless-culture guide:
impact in numbers, contributing factors that say what and how (never who), what went well,
and action items that are verb first, bounded, owned by one person, prioritised and tracked,
at least one of them preventive; "human error", "careless" and "train people harder" are the
classic non-findings. `manager_ask` is the remediation ask: the ask and its dates first, the
impact quantified, what slips and for how long, options (deferring, with its risk), a
measurable exit, permission rather than penance.
"""

from __future__ import annotations

from coursekit.rubric_engine import Avoids, Mentions, NotRepetitive, NotStuffed, Prose, Rubric, WordCount
from coursekit.rubric_engine import Rule as _Rule

from .rubrics import SELF_BLAME

__all__ = ["MANAGER_ASK", "POSTMORTEM"]

_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    r"\d{4}-\d\d-\d\d|\d{1,2} " + _MONTH + r"|" + _MONTH + r" \d{1,2}(?:st|nd|rd|th)?|" + _WEEKDAY + r"|"
    r"tomorrow|tonight|today|this week|next week|end of (?:the )?(?:day|week|sprint|month)|next sprint|"
    r"\d{1,2}:\d\d(?: ?utc)?"
)
_DURATION = (
    r"\d+ ?(?:h|hours?|days?|weeks?|sprints?)|(?:one|two|three|four|five|a|half a) (?:hours?|days?|weeks?|sprint)|"
    r"48[- ]hours?|forty[- ]eight hours|a day and a half"
)
_QUANTITY = (
    r"(?:~|about |around |under |over |nearly |almost |roughly |more than |at least )?\d[\d,]*(?:\.\d+)?[ -]?"
    r"(?:%|percent|user[- ]minutes?|users?|customers?|sessions?|requests?|minutes?|mins?|seconds?|s|ms|hours?|"
    r"queries|calls?|qps|x|×|times)"
)
_PERSON_CAUSE = (
    r"human error|careless\w*|negligen\w*|sloppy|sloppiness|incompeten\w*|lazy|laziness|"
    r"(?:the|an?|our|one) (?:engineer|developer|dev|person|intern|on-?call|new hire|author|reviewer) "
    r"(?:who|that) (?:\w+ )?(?:pushed|deployed|shipped|wrote|merged|approved|forgot|missed|broke|didn't|did not)|"
    r"(?:he|she|they) (?:forgot|should have|didn't check|did not check|failed to|neglected|messed up|screwed up|"
    r"wasn't careful|were not careful|was not careful)|"
    r"(?:his|her) (?:mistake|fault|error|carelessness|oversight)|whoever (?:pushed|deployed|shipped|merged)|"
    r"(?:caused|broken|started) by [a-z]+(?:'s)? (?:mistake|error|change|oversight|deploy|push)|"
    r"(?:root cause|the cause) (?:was|is) (?!the |a |an |our |that |this |how |what |when |missing |no )[a-z]+(?:'s)? "
    r"(?:mistake|error|oversight|change)|[a-z]+ (?:forgot to|should have known|should have checked|"
    r"neglected to|was careless|wasn't careful|messed up|screwed up|didn't bother)|"
    r"(?:blame|fault) (?:lies )?(?:with|on) [a-z]+"
)
_TRAIN_HARDER = (
    r"train\w* (?:\w+ )?(?:harder|better|more)|(?:re-?)?train (?:people|engineers|staff|everyone|the team|developers)|"
    r"retrain\w*|be more careful|more careful(?:ly)?|pay (?:more )?attention|try harder|remind (?:people|everyone|"
    r"engineers|the team|developers)|tell (?:people|everyone|engineers|the team) (?:to|not to)|"
    r"double[- ]check (?:more|harder|everything)|work harder|(?:be|being) (?:more )?vigilant|don't do it again"
)
_ACTION_VERB = (
    r"add|adds|cap|set|write|pre-?warm|prewarm|alert|page|run|rehearse|document|replace|limit|bound|automate|"
    r"introduce|gate|enable|measure|test|assign|schedule|move|make|split|put|create|wire|block|require|raise|"
    r"lower|build|ship|roll out|migrate|remove|delete|publish|instrument|monitor|extend|switch|turn|fix|"
    r"load-test|load test|backfill|audit|define"
)
_OWNER = r"owner:? [a-z]+|owned by [a-z]+|owner is [a-z]+|\(owner [a-z]+|owner - [a-z]+"
_PRIORITY = r"p[0-3]|priority:? (?:high|medium|low|\d)|(?:high|medium|low)[- ]priority"
_TRACKING = r"[a-z]{2,10}-\d{1,6}|#\d{2,6}"
_BOUNDED = r"(?:due|by|before|until|deadline:?) (?:" + _DATE + r")|due:? (?:" + _DATE + r")|within " + _DURATION + r"|timebox\w*|time-?boxed|" + _DATE


_META = (
    r"verb[- ]first|(?:the|this|our|a) (?:template|checklist|rubric|format)|as the (?:checklist|rubric|template|format) "
    r"(?:asks|wants|says|requires)|(?:sre|pagerduty) (?:book|template|guide)|blameless format|"
    r"(?:impact|exit) (?:is |was )?(?:described |stated |measured )?in numbers|quantif(?:y|ies|ied) the impact|"
    r"(?:items|item) (?:are|is) (?:\\w+,? ){1,5}(?:tracked|bounded|owned|prioriti[sz]ed)|framed as permission|"
    r"the ask and (?:the )?dates|a measurable exit|what slips and for how long"
)


class _Early(_Rule):
    """Met when one of the first ``first`` real sentences satisfies ``rule`` (a Mentions).

    For answers whose order matters: the ask and its dates belong at the top of a message to a
    manager, not in its last line.
    """

    def __init__(self, rule: Mentions, first: int = 2) -> None:
        self.rule, self.first, self.id, self.question = rule, first, rule.id, rule.question

    @property
    def keywords(self):
        return self.rule.keywords

    def satisfying(self, analysis):
        where, distinct = self.rule.satisfying(analysis)
        real = [i for i, s in enumerate(analysis.sentences) if s.real][: self.first]
        keep = {i for i in where if i in real}
        return keep, distinct if keep else set()

    def check(self, analysis) -> str | None:
        keep, _ = self.satisfying(analysis)
        return None if keep else self.question


POSTMORTEM = Rubric(
    name="postmortem",
    title="A blameless post-mortem",
    rules=[
        Prose(5),
        NotRepetitive(max_repeated_share=0.25, max_word_share=0.09),
        NotStuffed(0.45),
        WordCount("length", 90, 450,
                  too_long="Could you say it in about {max} words? Who reads a post-mortem, and what do they "
                  "need from it first?"),
        Mentions(
            "impact_in_numbers",
            "How big was the impact, in numbers: how many users, for how long, how much of the error budget?",
            [[r"users?|customers?|sessions?|requests?|sign-?ins?|logins?|user[- ]minutes?|error budget|budget|slo|"
              r"p99|latency|availability"],
             [_QUANTITY]],
            negatable=False,
            keyword_groups=(1,),
        ),
        Mentions(
            "contributing_factors",
            "What made this possible: which parts of the system and the process contributed, and how did they "
            "combine?",
            [[r"contribut\w*|factors?|because|led to|caused|triggered|allowed|let (?:every|all|the)|meant (?:that )?|"
              r"made it possible|combined with|together with|so that|which (?:let|made|meant|allowed)|"
              r"without (?:a|an|any)|nothing (?:stopped|capped|limited|warned)|no (?:alert|runbook|limit|cap|threshold|"
              r"pre-?warm|owner|canary)"],
             [r"cache|caches|refresh\w*|singleflight|deploy\w*|keys?|wait\w*|threshold|alerts?|alerting|runbook|"
              r"canary|database|db|pre-?warm\w*|load|rollout|flag|queue\w*|concurrency|slo|dashboard|on-?call|page|"
              r"review|test\w*|rollback"]],
            negatable=False,
            keyword_groups=(0,),
        ),
        Mentions(
            "what_went_well",
            "What went well? Which part of the response would you keep exactly as it was next time?",
            [[r"went well|worked well|what worked|worked as|helped|was quick|were quick|quickly|in our favou?r|"
              r"we were lucky|luckily|fortunately|paid off|held up|held|caught it|kept|was fast|were fast|fast "
              r"rollback|rolled back (?:in|within)|good"]],
            keyword_groups=(),
        ),
        Mentions(
            "action_items",
            "Are your action items actionable: each one starting with a verb, with one owner, a priority, a "
            "tracking id and a date?",
            [[r"(?:^|[:\]\u2014\u2013] |- )(?:" + _ACTION_VERB + r")"], [_OWNER], [_PRIORITY], [_TRACKING],
             [_BOUNDED]],
            negatable=False,
            min_distinct=2,
            distinct_group=3,
            keyword_groups=(1, 2, 3),
        ),
        Mentions(
            "preventive",
            "Which action item keeps this from happening again, rather than making the next one shorter?",
            [[r"prevent(?:s|ing)? (?:a|an|the|one|this|it|that|another|any|users?|callers?|readers?|herds?|queues?|\w+ from)|so (?:that )?(?:a|an|the|one|no|this|it|nobody|users?|callers?|readers?) (?:\w+ ){0,3}(?:can't|cannot|never|no longer|"
              r"won't|will not|doesn't|does not)|before (?:it|they) reach(?:es)? users|stops? (?:a|the|this|one)|"
              r"never (?:waits?|blocks?|queues?)|no (?:user|caller|reader|request|sign-?in|one)s? (?:ever )?waits?"]],
            negatable=False,
        ),
        Avoids(
            "blameless",
            "Does a sentence name a person, or their care, as a cause? What in the system or the process let a "
            "reasonable action turn into an incident?",
            [_PERSON_CAUSE, SELF_BLAME, r"my (?:fault|mistake|carelessness)|i (?:messed|screwed) up|i broke (?:it|prod\w*)"],
        ),
        Avoids(
            "no_train_harder",
            "Would 'be more careful' have stopped this? Which change to the system or the process would work "
            "even on a bad day?",
            [_TRAIN_HARDER],
        ),
        Avoids(
            "one_owner",
            "Who exactly owns each action item? 'The team' or two names means nobody in particular — who is the one?",
            [r"owner:? (?:the )?(?:team|everyone|all|everybody|us|we|tbd|n/a|someone|devs|engineering|sre|ops)\b|"
             r"owner:? [a-z]+ (?:and|&|/) [a-z]+|owners:? [a-z]+,|owned by (?:the )?(?:team|everyone|all|us)"],
            negatable=False,
        ),
        Avoids(
            "about_this_incident",
            "Is this about your incident, or about the format? Which of your own numbers, systems and dates "
            "belong where you describe the template?",
            [_META],
            negatable=False,
        ),
    ],
    closing_question="If a teammate who was asleep during the incident read only this, what would they change "
    "on Monday?",
)

MANAGER_ASK = Rubric(
    name="manager_ask",
    title="Asking a manager for time to remediate",
    rules=[
        Prose(3),
        NotRepetitive(),
        NotStuffed(0.45),
        WordCount("length", 45, 230,
                  too_long="Could you say it in about {max} words? Your manager will forward this: what must "
                  "survive?"),
        _Early(Mentions(
            "ask_and_dates_first",
            "Does your first sentence say what you are asking for and for which dates or how long?",
            [[r"(?:can|could|may) (?:i|we) (?:have|get|take|pause|stop|hold|spend|put|use|move)|i'm asking|i am asking|"
              r"my ask|the ask|i(?:'d| would) like (?:to|your)|i need (?:your )?(?:ok|okay|approval|permission|"
              r"sign-?off|go-?ahead|agreement)|i'm requesting|i am requesting|i request|requesting|i propose|i suggest|"
              r"(?:pause|hold|freeze|stop) (?:the )?(?:feature|new|release|roadmap)|are you (?:ok|okay) with|"
              r"would you (?:approve|agree|back)|(?:ok|okay) to (?:pause|stop|hold)"],
             [_DURATION + r"|" + _DATE]],
            keyword_groups=(1,),
        ), first=2),
        Mentions(
            "impact_quantified",
            "How big was the impact, in numbers your manager can repeat: error budget spent, users affected, "
            "minutes?",
            [[r"error budget|budget|users?|customers?|user[- ]minutes?|sessions?|requests?|sign-?ins?|logins?|slo|"
              r"p99|minutes?"],
             [_QUANTITY]],
            negatable=False,
            keyword_groups=(1,),
        ),
        Mentions(
            "what_slips",
            "What moves if you get the time: which release or feature, and by how long?",
            [[r"slips?|slipping|slipped|delay\w*|push(?:es|ed)? (?:back|out)|moves?|moved|later|postpone\w*|"
              r"lands?|instead of|(?:won't|will not) (?:make|ship)|ships? on|shifts?|goes out|miss\w*"],
             [r"release|feature|features|launch|sprint|ticket|demo|roadmap|epic|story|milestone|version|rollout|banner|"
              r"redesign|integration|project|deliverable|page|beta|"
              r"export|dashboard|work"],
             [_DURATION + r"|" + _DATE]],
            negatable=False,
            keyword_groups=(0,),
        ),
        Mentions(
            "options",
            "What else could we do? Could you give your manager a choice, including waiting, with what each "
            "option costs?",
            [[r"options?|alternatively|either|or (?:we|i) could|another way|plan b|the choices?|other choice|"
              r"if we (?:wait|defer|don't|do not|ship|keep)|if you'd rather|if you would rather|a smaller|the minimum|"
              r"trade-?offs?|we could also"]],
            keyword_groups=(0,),
        ),
        Mentions(
            "defer_risk",
            "What is the risk if we wait: how likely is a repeat, and what would it cost?",
            [[r"defer\w*|wait\w*|postpon\w*|afterwards|fix (?:it|this|them) after|if we (?:ship|keep going|carry on|don't|do not)|put (?:it|this) off|"
              r"after the release|until after|later"],
             [r"risk\w*|chance|likely|likelihood|again|repeat\w*|recur\w*|expos\w*|another incident|same incident|"
              r"burn\w*|budget|next (?:deploy|release|spike)|every deploy|each deploy|could|would"]],
            negatable=False,
            keyword_groups=(1,),
        ),
        Mentions(
            "measurable_exit",
            "How will you both know the 48 hours are over and it worked: which number, what target?",
            [[r"done when|exit|we stop when|finished when|back (?:on|to) (?:the )?(?:feature|release|roadmap)|"
              r"we're done|we are done|success (?:is|means|looks)|criteri\w*|until|we'll know|we will know|"
              r"the bar is|target|measured? (?:by|as)|when (?:the|p99|every|all|no)|proves?|shows?|passes"],
             [_QUANTITY + r"|p99|percentile|\d+ ?ms|zero|no (?:user|request|caller)"]],
            negatable=False,
            keyword_groups=(0,),
        ),
        Avoids(
            "permission_not_penance",
            "Are you asking for permission, or offering penance? What if the time were simply the team's best "
            "use of the next two days, not something you owe?",
            [r"make (?:it|this) (?:up|right)|make up for|make amends|my mess|clean up (?:my|the) mess|i owe|penance|"
             r"punish\w*|(?:work|stay|staying|working) (?:late|nights|overtime|over the weekend|the weekend|all night)|"
             r"on my own time|all-?nighter|(?:do|fix) (?:it|this|everything) (?:myself|alone|by myself)|"
             r"at night|in the evenings?|redeem\w*|earn (?:back )?(?:your|the team's) trust"],
        ),
        Avoids(
            "no_self_blame",
            "Is this message about the system or about you? How would you write it for a teammate's change?",
            [SELF_BLAME, r"my fault|i (?:messed|screwed) up|i broke (?:it|prod\w*|everything)|i feel (?:awful|bad|"
             r"terrible|horrible)|it's all on me|all my fault|i let (?:you|everyone|the team|users) down|"
             r"i (?:should|shouldn't) have (?:never|shipped|pushed|merged|known)|i'm (?:so )?sorry i"],
        ),
        Avoids(
            "about_this_ask",
            "Is this about your ask, or about the checklist? What would your manager read if you wrote it with "
            "your own dates and numbers?",
            [_META],
            negatable=False,
        ),
    ],
    closing_question="If your manager forwarded only your first two sentences to their manager, would that be "
    "enough to say yes?",
)
