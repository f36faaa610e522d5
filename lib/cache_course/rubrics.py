"""This course's named rubrics: ``wip_pr``, ``review_reply`` and ``apology``.

The engine is :mod:`coursekit.rubric_engine`; coursekit's registry
(``from coursekit.rubrics import get_rubric``) finds these through ``cache_course.RUBRICS``.

Every rubric starts with the same three gates (real prose, no repetition, no
keyword stuffing) and a word limit, then asks about the content the story needs.

>>> fb = APOLOGY.evaluate(
...     "We're sorry. Yesterday a change we shipped made your account page take two minutes to load. "
...     "That was our mistake, not anything you did. We have undone the change, and from today the page "
...     "loads in under a second again. We will email you by Friday with what we are changing so it "
...     "does not happen again.")
>>> fb.met
True
>>> APOLOGY.evaluate("sorry sorry sorry our mistake our mistake").met
False
"""

from __future__ import annotations

from coursekit.rubric_engine import Avoids, Mentions, NotRepetitive, NotStuffed, Prose, Rubric, WordCount

__all__ = ["APOLOGY", "RUBRICS", "REVIEW_REPLY", "WIP_PR"]

# --- shared vocabulary -------------------------------------------------------------------

_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|fifty|a hundred|hundred|a thousand)"
NUMBER_UNIT = (
    r"(?:~|about |around |under |below |at most |<|≤)?(?:\d[\d,]*(?:\.\d+)?|" + _NUMBER_WORD + r")[ -]?"
    r"(?:ms|milliseconds?|s|secs?|seconds?|minutes?|mins?|%|percent|x|×|qps|rps|req/s|requests?|calls?|queries|"
    r"hits?|misses)"
)
METRIC = (
    r"p\d{2,3}|p50|percentiles?|median|tail latency|latency|latencies|response times?|"
    r"(?:database|db) (?:load|calls?|queries|requests?|qps)|qps|throughput|requests per second|"
    r"hit (?:ratio|rate)|miss (?:ratio|rate)|error rate|load|calls?|how often|share of \w+|stale reads"
)
#: Saying how the result will be shown counts as making it measurable, with a metric named.
MEASURE = r"before and after|with and without|side by side|for both|attach(?:ed)?|compare[ds]?|measured?|report(?:ed|ing)?|post(?:ed)?|show(?:ing|s)?|include"
PROPOSE = (
    r"i'll|i will|we'll|we will|i'm going to|i am going to|we're going to|i plan to|we plan to|i propose|"
    r"we propose|i suggest|let me|i can|we can|i'd like to|i could|we could|i'm adding|i am adding|"
    r"i've added|i have added|i added|next,? i|my plan is to|the fix is to|i'll try|proposal:|my proposal|"
    r"i'd (?:add|change|cap|move|use)|here's what i'll|i'm planning to|i am planning to|we're planning to"
)

# --- tone, shared by every rubric that answers a person -------------------------------------

OVERPROMISE = (
    r"i promise|we promise|guarantee\w*|never (?:happen|break|fail|occur) again|"
    r"(?:won't|will not) (?:ever )?(?:happen|break|fail|occur) again|no (?:\w+ )?problems at all|"
    r"100% (?:fixed|sure|safe)|(?:permanent|complete|final)(?:ly)? (?:fix|fixed|solution|resolved)|"
    r"(?:fully|completely|totally) (?:fixed|resolved|solved)|"
    r"(?:fixed|resolved|solved|sorted|solution) (?:\w+ ){0,4}(?:with)?in (?:the |an? |\d+ |ten |five )?"
    r"(?:hour|minutes?|hours?)|it (?:will|should) be fine|everything (?:is|will be|should be) fine|"
    r"it should be fine now"
)
SELF_BLAME = (
    r"i'm (?:so |such an? |an? |just |clearly )?(?:stupid|idiot|useless|hopeless|incompetent|terrible|failure|"
    r"fraud|bad engineer|bad developer)|i'm (?:clearly |just )?not (?:good|smart|senior|experienced|competent)"
    r"(?: \w+)? enough|i always (?:mess|screw|get|miss|forget|break)|i should have (?:known|seen|caught|noticed)|"
    r"i can't do anything right|i'm the worst|sorry for wasting|i'm not cut out|i suck|my fault,? as usual|"
    r"i'm (?:so )?(?:embarrassed|ashamed)|i feel (?:so )?(?:stupid|dumb|terrible)|i'll try to do better|"
    r"we feel (?:so )?terrible|we're (?:so )?(?:embarrassed|ashamed)|(?:can't|cannot) apologi[sz]e enough|"
    r"awful of us"
)
HOSTILE = (
    r"you (?:\w+ly |just )?(?:don't|didn't|haven't|have not|did not|do not) (?:even )?"
    r"(?:understand|get|read|know|look)|overthinking|nitpick\w*|pedantic|waste of (?:my |our )?time|ridiculous|"
    r"nonsense|did you even|are you serious|if you had read|you should have|with all due respect"
)
BLAME_OTHERS = (
    r"(?:the )?(?:db|database|platform|infra\w*|ops|sre|other|backend|frontend|dba) team (?:needs? to|should|"
    r"must|has to)|(?:their|the \w+ team's) (?:problem|job|fault)|the (?:real )?(?:problem|fix) (?:is|belongs) "
    r"(?:in|with) (?:the )?(?:database|db|their|platform)|the database should (?:just )?be faster|"
    r"as (?:everybody|everyone|anyone) knows|blame (?:the|their) \w+"
)

# --- wip_pr (module 00) --------------------------------------------------------------------

_COMPONENT = (
    r"lru|cache|caching|refresh(?:-on-stale|es)?|stale|key schema|cache[- ]keys?|keys?|optimistic lock(?:ing)?|"
    r"locks?|locking|session(?:s| service)?|ttl|eviction|singleflight"
)

WIP_PR = Rubric(
    name="wip_pr",
    title="A work-in-progress PR description",
    rules=[
        Prose(3),
        NotRepetitive(),
        NotStuffed(0.45),  # a PR description names many components; allow a little more vocabulary
        WordCount("length", 40, 250),
        Mentions(
            "says_done",
            "What does this PR already do? Could a reviewer tell from one sentence which parts are finished?",
            [
                [r"adds?|added|introduces?|introduced|implements?|implemented|replaces?|replaced|"
                 r"changes?|changed|moves?|moved|done|works?|includes?|switch(?:es|ed)?|puts?|wraps?|uses?|wires?|wired|"
                 r"now (?:go|goes|use|uses|pass|passes|read|reads|hit|hits)|(?:are|is) (?:now |already )?in(?: place)?"],
                [_COMPONENT],
            ],
        ),
        Mentions(
            "says_not_done",
            "What isn't done yet? Which part would surprise a reviewer who assumed this was finished?",
            [[r"not (?:yet|done|finished|covered|tested|handled)|n't (?:yet|done|finished|covered|tested|handled)|"
              r"still (?:need|needs|missing|to do|todo)|todo|to do|missing|remaining|incomplete|partial|"
              r"follow[- ]up|next step|out of scope|unfinished|haven't|have not|doesn't (?:yet )?(?:handle|cover)|"
              r"no (?:tests|benchmarks?|docs)|only (?:the )?happy[- ]path|happy[- ]path only|"
              r"(?:doesn't|does not|don't|do not|isn't|is not|hasn't|has not|haven't|have not) (?:\w+ ){0,3}yet|"
              r"no \w+ yet|(?:has|have|hasn't|haven't) not been|(?:hasn't|haven't) been|only (?:sketched|stubbed|"
              r"partly|partially)|only cover(?:s|ed)? (?:the )?happy[- ]path|not ready"]],
            negatable=False,
        ),
        Mentions(
            "tests_status",
            "What do your tests cover today, and what don't they cover yet?",
            [
                [r"tests?|tested|testing|coverage"],
                [r"happy[- ]path|only|partial|just|missing|no |not|n't|edge cases?|failure|races?|concurren\w*|"
                 r"error paths?|load"],
            ],
            negatable=False,
            keyword_groups=(0,),
        ),
        Mentions(
            "specific_asks",
            "Which specific questions should the reviewer answer? 'Any feedback?' is hard to act on — what are "
            "you least sure about?",
            [
                [r"\?|could you|can you|would you|please|i'd like|i would like|i'm (?:unsure|not sure)|"
                 r"i am (?:unsure|not sure)|feedback on|eyes on|looking for|especially|specifically|wondering"],
                [r"races?|race conditions?|concurren\w*|two refreshes|overlap\w*|simultaneous\w*|optimistic lock(?:ing)?|locks?|"
                 r"locking|key schema|keys?|downstream|consumers?|readers?|backward[- ]compat\w*|complexity|big[- ]o|"
                 r"o\(1\)|eviction|memory|stale(?:ness)?|ttl|benchmarks?|database load|db load|latency|"
                 r"invalidation|naming|api|error handling|timeouts?"],
            ],
            negatable=False,
            min_distinct=2,
            distinct_group=1,
            keyword_groups=(1,),
        ),
        Avoids(
            "no_overclaim",
            "Is it really finished? A draft that claims to be complete invites a rubber stamp — what would you "
            "want a reviewer to doubt?",
            [r"complete and (?:fully )?tested|(?:fully|thoroughly|well) tested|(?:ready|good) to (?:merge|ship|go)|"
             r"production[- ]ready|should be (?:fine|good|ready)|(?:is|are) (?:fine|done|complete|perfect) now|"
             r"everything (?:works|is done|is fine|should be fine)|no (?:known )?(?:bugs|issues|problems)|"
             r"100% (?:done|tested|covered)|bulletproof|without (?:much )?discussion|big improvement|"
             r"the slowness is gone|it just works"],
        ),
        Avoids(
            "no_self_deprecation",
            "You are sharing a draft on purpose. Could you replace the apology for it with the question you most "
            "want answered?",
            [r"probably (?:a mess|terrible|awful|bad|wrong|garbage|rubbish|stupid)|(?:is|it's) (?:a mess|terrible|"
             r"awful|garbage)|(?:don't|do not) (?:really )?know what i'm doing|sorry (?:this|for (?:the|this))|"
             r"feel free to (?:rewrite|throw|redo|scrap)|too bad|not sure any of it|i'm (?:bad|terrible|hopeless) at|"
             + SELF_BLAME],
        ),
    ],
    closing_question="If a reviewer had five minutes, which of your questions would you want answered first?",
    generic_allowance=0,  # a PR description is read for its specifics: every point needs a real one
)

# --- review_reply (modules 02/03) ----------------------------------------------------------

REVIEW_REPLY = Rubric(
    name="review_reply",
    title="A reply to a code review",
    rules=[
        Prose(2),
        NotRepetitive(),
        NotStuffed(),
        WordCount(
            "length",
            25,
            150,
            too_short="Could you say a little more — what will you change, and how will you both know it worked?",
            too_long="Could you say it in about {max} words? The reviewer reads it between other tasks — what "
            "could go?",
        ),
        Mentions(
            "acknowledges",
            "How will the reviewer know you heard their point? What could your first sentence acknowledge?",
            [[r"thanks|thank you|good (?:point|catch|question|call)|fair (?:point|enough|question|concern)|"
              r"you're right|you are right|agreed|i agree|that's (?:right|true|fair|a good|a real|a valid)|"
              r"valid (?:point|concern)|makes sense|i see (?:the|your|what)|appreciate|you've found|you found|"
              r"great catch|well spotted|good spot|i hadn't (?:considered|thought)|i missed|"
              r"that (?:really )?matters|that's important|point taken|you have a point"]],
            keyword_groups=(),
            generic_ok=True,  # conversational phrases, not buzzwords: short acknowledgements stay sentences
        ),
        Mentions(
            "restates_or_asks",
            "Can you say the reviewer's concern back in your own words — or ask the one question that would make it "
            "clearer?",
            [[r"if i understand|so you're saying|you're (?:worried|concerned|saying|pointing out|asking)|"
              r"you are (?:worried|concerned|saying|pointing out|asking)|your (?:point|concern|worry|question) is|"
              r"the (?:concern|risk|issue|problem|worry|point) is|in other words|to (?:make sure|check) i understand|"
              r"to restate|you mean|do you mean|did you mean|are you (?:asking|suggesting|saying)|"
              r"would you (?:prefer|rather|like)|should i|which (?:\w+ )?(?:would|should|do)|what (?:\w+ )?would you|"
              r"is (?:that|it) (?:the|your)|as i understand|i understand (?:that|the|your)|your point about|"
              r"the case where|when two|if two|you're right that|you are right that|so the (?:problem|issue|risk) is|"
              r"as i read it|if i follow(?: you)?|the worry is|put simply|put another way|in short|the (?:gap|trade-off|point) is|"
              r"what you're describing|(?:the|this) \w+ (?:\w+ )?you describe|you describe|what you're (?:saying|asking)|you're asking|"
              r"(?:what|which|how|does|do|is|are|should|could) [^?]{3,80}\?"]],
            keyword_groups=(),
        ),
        Mentions(
            "proposes_mitigation",
            "What will you change in response, concretely?",
            [[PROPOSE]],
            keyword_groups=(),
        ),
        Mentions(
            "measurable",
            "How will you both know the change worked? Which metric, what target number, in which unit "
            "(for example p99 in ms)?",
            [[METRIC], [NUMBER_UNIT, MEASURE]],
            negatable=False,  # "no more than 100 ms", "nobody waits over 2 s" are targets too
        ),
        Avoids(
            "not_defensive",
            "Read your reply as the reviewer would: does any phrase sound like a defence? What happens to the "
            "conversation if you drop it?",
            [r"not my fault|(?:wasn't|isn't) my fault|you (?:clearly |obviously )?(?:don't|didn't) (?:understand|get|read)|"
             r"as i (?:already )?(?:said|mentioned|explained)|obviously|clearly you|you're wrong|you are wrong|"
             r"works on my machine|it's (?:just )?fine|nobody (?:else )?(?:complained|noticed)|well,? actually|"
             r"if you had read|did you even|that's not how|with all due respect|it's only a (?:draft|wip)|"
             r"you should have|there's nothing wrong|(?:don't|do not) see what the problem is|"
             r"nobody (?:has |have |had )?(?:else )?(?:complained|noticed)|the code is fine|"
             r"i (?:don't|do not) (?:think|see why) we (?:should|need to) change"],
        ),
        Avoids(
            "not_hostile",
            "How would this land if the reviewer read it aloud to the team? Which words are about them, not the "
            "code?",
            [HOSTILE],
        ),
        Avoids(
            "not_blaming",
            "Does a sentence hand the problem to someone else — another team, the database, 'everyone'? What can "
            "your change do about it?",
            [BLAME_OTHERS],
        ),
        Avoids(
            "no_overpromise",
            "Can you keep that promise? What could you commit to that you control — a change, a measurement, a "
            "time for the next update?",
            [OVERPROMISE],
        ),
        Avoids(
            "not_self_blaming",
            "Is the reviewer critiquing the code, or you? How would you reply if a colleague had written this PR?",
            [SELF_BLAME],
        ),
    ],
    closing_question="If the reviewer answered only one sentence of your reply, which would you want it to be?",
)

# --- apology (incident module) ------------------------------------------------------------

APOLOGY = Rubric(
    name="apology",
    title="An apology to a user after an incident",
    rules=[
        Prose(3),
        NotRepetitive(),
        NotStuffed(),
        WordCount("length", 30, 180),
        Mentions(
            "apologises",
            "Does your message actually say sorry — for what happened to them, not for how they feel?",
            [[r"(?:i'm|i am|we're|we are) (?:so |very |truly |really )?sorry|we apologi[sz]e|i apologi[sz]e|"
              r"our apologies|my apologies"]],
            generic_ok=True,
        ),
        Mentions(
            "owns_impact",
            "Whose change caused this, in the user's eyes? Does your message say so in plain words?",
            [[r"our (?:mistake|fault|error|change|bug|release|update)|my (?:mistake|fault|error|change)|"
              r"(?:we|i) (?:caused|broke|made a mistake|got (?:this|it) wrong|introduced|shipped|released|let you down)|"
              r"that's on (?:us|me)|(?:we|i) take (?:full )?responsibility|(?:we|i) own|"
              r"(?:a|the) (?:change|update|release) (?:we|i) (?:made|shipped|released|rolled out|pushed)|because of (?:us|our)|"
              r"on our (?:side|end)|our doing|(?:we|i) (?:rolled out|pushed|made) (?:a|an|the) (?:change|update)|"
              r"(?:we|i) (?:are|am) responsible"]],
        ),
        Avoids(
            "no_blame_shifting",
            "Does any sentence point away from us — at a vendor, at 'these things', at the user? What if you "
            "said what we did instead?",
            [r"not (?:my|our) fault|(?:wasn't|isn't) (?:my|our|really our) fault|beyond our control|"
             r"out of our (?:control|hands)|(?:blame|caused by|due to|because of) (?:a |an |the |our )?"
             r"(?:third[- ]party|vendor|provider|cloud|upstream|another team|other team|database team|hosting|"
             r"user error|your)|user error|on your end|your (?:network|connection|browser|device)|"
             r"these things happen|sorry (?:that |if )?you (?:feel|felt|were upset|are upset)|"
             r"sorry for any inconvenience|if you (?:had|hadn't)|someone else"],
        ),
        Mentions(
            "what_happened",
            "What happened, from the user's side? Could you describe it in one plain sentence — what did they "
            "experience?",
            [
                [r"you|your"],
                [r"waited|wait|waiting|delays?|delayed|slow|slowly|slower|took|couldn't|could not|unable|stuck|"
                 r"(?:\d+|two|several|a few) (?:minutes?|seconds?|hours?)|did not load|didn't load|failed|error|"
                 r"froze|hung|timed out|lost"],
            ],
            negatable=False,
            keyword_groups=(1,),
        ),
        Mentions(
            "next_and_when",
            "What will the user see next, and when?",
            [
                [r"will|we'll|you'll|should|is now|are now|has been|have been|can now|from now on|again|"
                 r"we've (?:rolled|undone|fixed|restored)|we have (?:rolled|undone|fixed|restored)"],
                [r"today|tonight|tomorrow|this (?:morning|afternoon|evening|week)|next (?:hour|update|week|monday|"
                 r"tuesday|wednesday|thursday|friday)|by (?:monday|tuesday|wednesday|thursday|friday|saturday|"
                 r"sunday|end of (?:day|the day|today|the week)|\d)|within (?:\d+|an?|the next|" + _NUMBER_WORD + r") \w+|"
                 r"in (?:\d+|an?|the next|" + _NUMBER_WORD + r") (?:minutes?|hours?|days?)|at \d{1,2}(?::\d\d)?(?: ?[ap]m| utc)?|"
                 r"\d{1,2}:\d\d|now|already|since \d|every \d+ (?:minutes?|hours?)|"
                 r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"],
            ],
            negatable=False,
            keyword_groups=(1,),
        ),
        Avoids(
            "no_jargon",
            "Would someone who has never written software understand every word? How would you say the technical "
            "parts in everyday words?",
            [r"cach(?:e|es|ed|ing)|ttl|singleflight|stale[- ]while[- ]revalidate|swr|p\d{2,3}|percentiles?|"
             r"latency|race conditions?|mutex|locks?|locking|evict\w*|backoff|circuit[- ]breaker|redis|"
             r"thundering herd|stampede|coalesc\w*|invalidat\w*|slo|sla|canary|feature flag|deploy\w*|"
             r"rollback|hotfix|prod|database|db|backend|api|keys?|refresh(?:es|ed)? on stale|head[- ]of[- ]line"],
            negatable=False,
        ),
        Avoids(
            "no_overpromise",
            "Can you keep that promise? What can you truthfully say now — what you did, what you saw, and when "
            "they will hear from you next?",
            [OVERPROMISE],
        ),
        Avoids(
            "about_them",
            "Whose feelings is this message about? How could the words you spend on regret go to what happens next "
            "for them?",
            [SELF_BLAME],
        ),
    ],
    closing_question="If the user read only your first two sentences, would they know what happened and what "
    "comes next?",
)

#: In the order the course meets them.
RUBRICS: list[Rubric] = [WIP_PR, REVIEW_REPLY, APOLOGY]

# --- postmortem and manager_ask (module 07) ------------------------------------------------
#
# Grounded in Google's SRE book ("Postmortem Culture: Learning from Failure") and workbook
# ("Postmortem Culture"), PagerDuty's post-mortem template and its blameless-culture guide:
# impact in numbers, contributing factors that say what and how (never who), what went well,
# and action items that are verb first, bounded, owned by one person, prioritised and tracked,
# at least one of them preventive; "human error", "careless" and "train people harder" are the
# classic non-findings. `manager_ask` is the remediation ask: the ask and its dates first, the
# impact quantified, what slips and for how long, options (deferring, with its risk), a
# measurable exit, permission rather than penance.

from coursekit.rubric_engine import Analysis as _Analysis  # noqa: E402 - this block stands alone
from coursekit.rubric_engine import Rule as _Rule  # noqa: E402

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

RUBRICS += [POSTMORTEM, MANAGER_ASK]
__all__ += ["MANAGER_ASK", "POSTMORTEM"]
