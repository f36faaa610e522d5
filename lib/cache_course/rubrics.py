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

# --- module 06 · the incident: status_followup and incident_checklist --------------------------
# Grounded in PagerDuty's incident response docs (external communication, the customer liaison:
# say what is affected and since when, what we are doing, when the next update comes, never a
# resolution time) and Atlassian Statuspage's incident communication tips (plain words, no
# jargon, current state, a set time for the next update); the checklist in the Google SRE book's
# "Managing Incidents" (incident commander, operations, communications, a live document kept by
# a scribe; mitigate first, root-cause later; a clear hand-off) and PagerDuty's incident
# commander training (named roles, time-boxed steps, an update cadence, the post-mortem owner).
from .rubrics_incident import INCIDENT_CHECKLIST, STATUS_FOLLOWUP  # noqa: E402 - after the vocabulary it uses

RUBRICS += [STATUS_FOLLOWUP, INCIDENT_CHECKLIST]
__all__ += ["INCIDENT_CHECKLIST", "STATUS_FOLLOWUP"]

# --- module 05 · ship it safely: rollout_note (its rules in rubrics_rollout.py) ----------------
from .rubrics_rollout import ROLLOUT_NOTE  # noqa: E402 - after the vocabulary it uses

RUBRICS.insert(RUBRICS.index(STATUS_FOLLOWUP), ROLLOUT_NOTE)  # in the order the course meets them
__all__ += ["ROLLOUT_NOTE"]

# --- postmortem and manager_ask (module 07) ------------------------------------------------
# Grounded in Google's SRE book and workbook (postmortem culture) and PagerDuty's post-mortem
# template and blameless-culture guide; the definitions are in rubrics_afterwards.py.

from .rubrics_afterwards import MANAGER_ASK, POSTMORTEM  # noqa: E402 - needs the vocabulary above

RUBRICS += [POSTMORTEM, MANAGER_ASK]
__all__ += ["MANAGER_ASK", "POSTMORTEM"]
