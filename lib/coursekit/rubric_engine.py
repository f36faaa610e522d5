"""Formative feedback on reflective writing: rules that ask questions, never scores.

A :class:`Rubric` is a list of :class:`Rule` objects. Each rule looks at an
:class:`Analysis` of the learner's text and returns ``None`` when it is met, or a
question for the learner when it is not ("What will the user see next, and when?").

Rules are necessary, not sufficient, and hard to game:

* content rules only count matches inside *real sentences* — at least four words,
  a normal share of function words ("the", "I", "will"…), not mostly rubric
  keywords, and not a repeat of an earlier sentence — so a list of buzzwords
  satisfies nothing;
* a match preceded by a negation in the same clause ("not my fault", "I won't
  blame") does not count for a rule that wants it, nor against a rule that forbids it;
* each keyword counts once (``min_distinct`` counts distinct matches);
* :class:`NotStuffed` and :class:`NotRepetitive` ask about keyword-heavy and
  repeated-phrase answers; :class:`WordCount` keeps answers within limits.

>>> rubric = Rubric("demo", "Demo", [Prose(1), Mentions("thanks", "Did you thank them?", [[r"thanks?"]])])
>>> rubric.evaluate("Thanks for the careful review of this change.").met
True
>>> rubric.evaluate("thanks thanks thanks").questions[0]
'Could you write this as full sentences to your reader, rather than a list of terms?'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .display import Renderable, md_html, md_text
from .rubric_text import (  # noqa: F401 - re-exported: the engine's vocabulary
    FUNCTION_WORDS,
    GENERIC_BELOW,
    GLUE_VERBS,
    NEGATORS,
    STOCK_WORDS,
    _PLACEHOLDER,
    Analysis,
    Sentence,
    _covered_words,
    analyse,
    is_negated,
    normalise,
    split_sentences,
    words_of,
)

__all__ = [
    "Analysis",
    "Avoids",
    "Feedback",
    "Mentions",
    "NotRepetitive",
    "NotStuffed",
    "Prose",
    "Rubric",
    "Rule",
    "Sentence",
    "WordCount",
    "analyse",
    "is_negated",
]

# ----------------------------------------------------------------------------- rules


class Rule:
    """A necessary condition. :meth:`check` returns ``None`` when met, else a question."""

    id: str

    @property
    def keywords(self) -> tuple[re.Pattern[str], ...]:
        """Patterns that count as rubric vocabulary for keyword stuffing (none by default)."""
        return ()

    def check(self, analysis: Analysis) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError


def _compile(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    # Whole words only; a pattern edge that is punctuation ("?", "%") needs no boundary.
    return tuple(re.compile(rf"(?:(?<![\w'])|(?![\w']))(?:{p})(?:(?![\w'])|(?<![\w']))") for p in patterns)


@dataclass(frozen=True)
class Mentions(Rule):
    """Met when a real sentence matches a pattern from *every* group (un-negated, if ``negatable``).

    ``min_distinct``: how many distinct matches of group ``distinct_group`` are needed
    across sentences (each keyword counts once). ``keyword_groups``: which groups are
    rubric vocabulary for :class:`NotStuffed` (default all; leave out groups of common words).
    ``generic_ok``: a stock sentence may meet it ("I'm sorry.", "Thanks, good catch."); other
    rules need a specific sentence beyond the rubric's one allowance (see :meth:`Rubric.evaluate`).

    >>> r = Mentions("owns", "Who caused it?", [[r"our (?:mistake|fault)"]])
    >>> r.check(analyse("This outage was our mistake and we are fixing it."))
    >>> r.check(analyse("This outage was not our mistake at all, to be clear."))
    'Who caused it?'
    """

    id: str
    question: str
    groups: Sequence[Sequence[str]]
    negatable: bool = True
    min_distinct: int = 1
    distinct_group: int = 0
    keyword_groups: Sequence[int] | None = None
    generic_ok: bool = False
    compiled: tuple[tuple[re.Pattern[str], ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", tuple(_compile(g) for g in self.groups))

    @property
    def keywords(self) -> tuple[re.Pattern[str], ...]:  # type: ignore[override]
        """Patterns of the ``keyword_groups`` (default: all) — what a stuffer would paste."""
        groups = range(len(self.compiled)) if self.keyword_groups is None else self.keyword_groups
        return tuple(p for i in groups for p in self.compiled[i])

    def _hits(self, s: Sentence, group: Sequence[re.Pattern[str]]) -> list[str]:
        hits = []
        for p in group:
            for m in p.finditer(s.norm):
                if not (self.negatable and is_negated(s.norm, m.start())):
                    hits.append(m.group(0))
        return hits

    def satisfying(self, analysis: Analysis) -> tuple[set[int], set[str]]:
        """Indices of the sentences that satisfy every group, and the distinct matches counted."""
        where: set[int] = set()
        distinct: set[str] = set()
        for i, s in enumerate(analysis.sentences):
            if not s.real:
                continue
            per_group = [self._hits(s, g) for g in self.compiled]
            if all(per_group):
                where.add(i)
                distinct.update(per_group[self.distinct_group])
        return where, distinct

    def check(self, analysis: Analysis) -> str | None:
        _, distinct = self.satisfying(analysis)
        return None if len(distinct) >= self.min_distinct else self.question


@dataclass(frozen=True)
class Avoids(Rule):
    """Unmet when any sentence matches a forbidden pattern (un-negated, if ``negatable``).

    >>> r = Avoids("no_blame", "Who are you pointing at?", [r"blame (?:the|our) \\w+"])
    >>> r.check(analyse("I blame the database for this."))
    'Who are you pointing at?'
    >>> r.check(analyse("I won't blame the database for this."))
    """

    id: str
    question: str
    patterns: Sequence[str]
    negatable: bool = True
    compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", _compile(self.patterns))

    def offending(self, analysis: Analysis) -> list[str]:
        """The phrases that break the rule."""
        found = []
        for s in analysis.sentences:
            for p in self.compiled:
                for m in p.finditer(s.norm):
                    if not (self.negatable and is_negated(s.norm, m.start())):
                        found.append(m.group(0))
        return found

    def check(self, analysis: Analysis) -> str | None:
        return self.question if self.offending(analysis) else None


@dataclass(frozen=True)
class WordCount(Rule):
    """Between ``min_words`` and ``max_words`` words.

    >>> WordCount("length", 3, 5).check(analyse("one two three four five six"))
    'Could you say it in 5 words or fewer? What could your reader do without?'
    """

    id: str
    min_words: int
    max_words: int
    too_short: str = "Could you say a little more? What would your reader still need to know?"
    too_long: str = "Could you say it in {max} words or fewer? What could your reader do without?"

    def check(self, analysis: Analysis) -> str | None:
        n = len(analysis.words)
        if n < self.min_words:
            return self.too_short.format(min=self.min_words, max=self.max_words, n=n)
        if n > self.max_words:
            return self.too_long.format(min=self.min_words, max=self.max_words, n=n)
        return None


@dataclass(frozen=True)
class Prose(Rule):
    """At least ``min_sentences`` real sentences.

    >>> Prose(2).check(analyse("Benchmarks, p99, latency. Singleflight, SWR, thanks."))
    'Could you write this as full sentences to your reader, rather than a list of terms?'
    """

    min_sentences: int = 2
    id: str = "prose"
    question: str = "Could you write this as full sentences to your reader, rather than a list of terms?"

    def check(self, analysis: Analysis) -> str | None:
        return None if len(analysis.real_sentences) >= self.min_sentences else self.question


@dataclass(frozen=True)
class NotRepetitive(Rule):
    """No duplicated sentences, and few repeated three-word phrases.

    >>> NotRepetitive().check(analyse("I will add a benchmark. I will add a benchmark."))
    'You repeat yourself. What is the one thing you most want your reader to take away?'
    """

    max_repeated_share: float = 0.2
    max_word_share: float = 0.07  # one content word (4+ uses) as a share of all words
    id: str = "not_repetitive"
    question: str = "You repeat yourself. What is the one thing you most want your reader to take away?"

    def check(self, analysis: Analysis) -> str | None:
        if analysis.duplicate_sentences or analysis.repeated_share > self.max_repeated_share:
            return self.question
        if any(s.why_not_real == "repeated words" for s in analysis.sentences):
            return self.question
        if analysis.top_word_share > self.max_word_share:
            return self.question
        return None


@dataclass(frozen=True)
class NotStuffed(Rule):
    """Not a keyword list: keywords are a minority of the words, and most words are in real sentences.

    >>> NotStuffed().check(analyse("Thanks! p99, benchmark, singleflight, ms, mitigation, sorry, owner"))
    'This reads like a list of the terms a checklist looks for. What would you actually say to your reader?'
    """

    max_keyword_share: float = 0.4
    id: str = "not_stuffed"
    question: str = (
        "This reads like a list of the terms a checklist looks for. What would you actually say to your reader?"
    )

    def check(self, analysis: Analysis) -> str | None:
        if analysis.keyword_share > self.max_keyword_share:
            return self.question
        listy = [s for s in analysis.sentences if s.why_not_real in ("list of terms", "mostly keywords", "fragment")]
        n_listy = sum(len(s.words) for s in listy)
        if n_listy >= 6 and n_listy > 0.4 * len(analysis.words):
            return self.question
        if any(len(s.words) >= 8 and s.keyword_share >= 0.5 for s in listy):  # a line of buzzwords
            return self.question
        return None


def _max_matching(options: list[set[int]]) -> int:
    """Largest number of rules that can each be credited to a different sentence.

    >>> _max_matching([{0}, {0}, {0, 1}])
    2
    """
    owner: dict[int, int] = {}

    def assign(rule: int, seen: set[int]) -> bool:
        for sentence in options[rule]:
            if sentence not in seen:
                seen.add(sentence)
                if sentence not in owner or assign(owner[sentence], seen):
                    owner[sentence] = rule
                    return True
        return False

    return sum(assign(r, set()) for r in range(len(options)))


GENERIC_QUESTION = (
    "Several of your sentences could be pasted into any answer. What, specifically, about this situation — "
    "which part, which number, which next step?"
)

CRAMMED_QUESTION = (
    "Most of your points share one sentence. Could you give each point its own sentence, so your reader can follow?"
)


# ----------------------------------------------------------------------------- rubric and feedback


@dataclass(frozen=True)
class Rubric:
    """A named list of rules; :meth:`evaluate` turns an answer into :class:`Feedback`."""

    name: str
    title: str
    rules: Sequence[Rule]
    closing_question: str = "What would you change if you read this aloud to the person it is for?"
    #: content rules that generic sentences alone may satisfy (``generic_ok`` rules aside)
    generic_allowance: int = 1

    @property
    def keywords(self) -> tuple[re.Pattern[str], ...]:
        """Every pattern content rules look for (used to spot keyword stuffing)."""
        return tuple(p for r in self.rules for p in r.keywords)

    def evaluate(self, text: str) -> "Feedback":
        """Apply every rule to ``text``; then credit content rules only where sentences earn it.

        Two caps keep stock phrases and one-sentence checklists from satisfying a rubric:

        * **generic sentences** — a content rule met only by generic sentences ("Thanks, good
          point.", "I will fix it.") keeps its credit for the first ``generic_allowance`` such rules alone (rules marked
          ``generic_ok``, such as saying sorry, are exempt); the others ask their question again,
          and the answer is asked to be specific;
        * **crammed sentences** — each sentence carries at most two met content rules; rules
          beyond what the sentences can carry ask their question again.
        """
        analysis = analyse(text, self.keywords)
        results = [(r.id, r.check(analysis)) for r in self.rules]
        content = [
            (i, r) for i, (r, (_, q)) in enumerate(zip(self.rules, results)) if q is None and isinstance(r, Mentions)
        ]
        # generic cap
        specific_of = {}
        for i, r in content:
            where, _ = r.satisfying(analysis)
            specific_of[i] = {k for k in where if not analysis.sentences[k].generic}
        content_capped = [(i, r) for i, r in content if not r.generic_ok]
        generic_only = [i for i, r in content_capped if not specific_of[i] and r.min_distinct <= 1]
        generic_only += [
            i for i, r in content_capped if r.min_distinct > 1 and not _distinct_enough(r, analysis, specific_of[i])
        ]
        generic_only = sorted(set(generic_only))
        for i in generic_only[self.generic_allowance:]:
            results[i] = (results[i][0], self.rules[i].question)  # type: ignore[attr-defined]
        vague = any(_PLACEHOLDER.search(s.norm) for s in analysis.sentences)
        if len(generic_only) > self.generic_allowance or vague:
            results.append(("specific", GENERIC_QUESTION))
        # crammed cap
        still = [(i, r) for i, r in content if results[i][1] is None]
        if len(still) >= 3:
            # each sentence may carry two points ("I'll add a timeout, and I'll show p99 before and after")
            options = [{2 * k + half for k in r.satisfying(analysis)[0] for half in (0, 1)} for _, r in still]
            carried = _max_matching(options)
            if carried < len(still):
                for i, r in _least_supported(still, options)[: len(still) - carried]:
                    results[i] = (results[i][0], r.question)
                results.append(("not_crammed", CRAMMED_QUESTION))
        return Feedback(self, analysis, results)


def _distinct_enough(rule: "Mentions", analysis: Analysis, sentences: set[int]) -> bool:
    """Does ``rule`` still find ``min_distinct`` matches within the given (specific) sentences alone?"""
    distinct: set[str] = set()
    for k in sentences:
        s = analysis.sentences[k]
        distinct.update(rule._hits(s, rule.compiled[rule.distinct_group]))
    return len(distinct) >= rule.min_distinct


def _least_supported(rules: list, options: list[set[int]]) -> list:
    """Rules ordered by how few sentences could carry them (ties: later rules first)."""
    order = sorted(range(len(rules)), key=lambda k: (len(options[k]), -k))
    return [rules[k] for k in order]


class Feedback(Renderable):
    """Questions for the learner; never a score. ``met`` is True when no rule asks anything."""

    max_shown = 4

    def __init__(self, rubric: Rubric, analysis: Analysis, results: list[tuple[str, str | None]]) -> None:
        self.rubric = rubric
        self.analysis = analysis
        self.results = results

    def __repr__(self) -> str:
        return f"<Feedback {self.rubric.name}: {len(self.questions)} question(s)>"

    @property
    def questions(self) -> list[str]:
        """The questions of the unmet rules, in rubric order."""
        return [q for _, q in self.results if q]

    @property
    def unmet(self) -> list[str]:
        """Ids of the unmet rules."""
        return [rid for rid, q in self.results if q]

    @property
    def met(self) -> bool:
        return not self.questions

    @property
    def shown(self) -> list[str]:
        """The questions to show now: at most ``max_shown``, then a note of how many wait.

        >>> get = Rubric("r", "R", [Prose(2), WordCount("n", 50, 100)]).evaluate
        >>> get("Too short.").shown
        ['Could you write this as full sentences to your reader, rather than a list of terms?', \
'Could you say a little more? What would your reader still need to know?']
        """
        questions = self.questions
        if "not_stuffed" in self.unmet and "prose" in self.unmet:  # one "write sentences" question is enough
            questions = [q for rid, q in self.results if q and rid != "prose"]
        shown = questions[: self.max_shown]
        more = len(questions) - len(shown)
        if more:
            shown.append(f"(…and {more} more once these are addressed)")
        return shown

    def _lines(self) -> tuple[str, list[str]]:
        if self.met:
            return (
                "Your answer covers what this checklist looks for. The checklist can't judge quality — one more "
                "question to ask yourself:",
                [self.rubric.closing_question],
            )
        return "Questions to consider before your instructor reads it:", self.shown

    def text(self) -> str:
        head, items = self._lines()
        return "\n".join([md_text(head), *(f"  • {md_text(q)}" for q in items)])

    def html(self) -> str:
        head, items = self._lines()
        lis = "".join(f"<li>{md_html(q)}</li>" for q in items)
        return f"<div>{md_html(head)}<ul style='margin:2px 0 2px 1em'>{lis}</ul></div>"
