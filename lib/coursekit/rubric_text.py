"""The text analysis under the rubric engine: sentences, words, negation, keyword coverage.

:func:`analyse` splits an answer into :class:`Sentence` objects and says which are *real*
sentences (enough words, a normal share of function words, not mostly rubric keywords, not a
repeat, not a list of terms) and which are *generic* (stock words only); the rules in :mod:`coursekit.rubric_engine` only count matches inside those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

__all__ = [
    "GENERIC_BELOW",
    "STOCK_WORDS",
    "Analysis",
    "Sentence",
    "analyse",
    "is_negated",
    "normalise",
    "paragraphs",
    "split_sentences",
    "words_of",
]

FUNCTION_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers him his how i i'd i'll i'm i've if in into is it it's its itself just let let's me more most
    my no nor not now of off on once only or other our ours out over own same she should so some such than that
    that's the their them then there these they this those through to too under until up very was we we'd we'll
    we're we've were what when where which while who whom why will with would you you'd you'll you're you've your
    yours also still yet one two already whether since though although however can't won't don't didn't isn't
    wasn't aren't doesn't haven't couldn't shouldn't wouldn't there's here's what's who's""".split()
)

# Common verbs count as "glue" too: "I expect p99 under 150 ms" is a sentence, "p99 150 ms latency" is not.
GLUE_VERBS = frozenset(
    """expect expects add adds added make makes made get gets got see saw think want wants need needs use uses used
    run runs ran drop drops fall falls stay stays show shows take takes took give gives go goes went keep keeps know
    measure measures serve serves wait waits waited happen happened said say says put puts try tried look looks
    agree mean means plan propose suggest fix fixed change changed ship shipped hit hits""".split()
)

# Words any answer can use without saying anything about *this* situation: courtesy, stock
# review and apology phrases, vague nouns. A sentence made of these plus function words is
# generic ("Thanks, good point.", "We will fix it soon."), whatever rule it matches.
STOCK_WORDS = frozenset(
    """thanks thank good great fair nice point points catch spot call question questions concern concerns
    agreed agree right true valid sure okay ok yes yeah fine review reviewing reviewed comment comments
    feedback sorry apologise apologize apologies apology mistake fault error problem issue issues thing things
    something anything everything stuff look looking into soon later update updates updated will fix fixes
    fixed better faster improve improved work working works done lot really very much many time times way
    happy glad hope please let know think mean means see understand""".split()
)

NEGATORS = frozenset(
    """not no never neither nor without nobody nothing none cannot hardly barely""".split()
)

GENERIC_BELOW = 3  # a sentence with fewer specific words than this is generic
# A vague placeholder where the specifics should be ("it does things", "not done: some stuff").
_PLACEHOLDER = re.compile(
    r"(?:\b(?:does|do|did|fixes|changes|adds|touches|covers|about|with)|:) (?:some |a few |various |other |many )?"
    r"(?:things|stuff|bits)(?= *[.?!,;]|$)|\bstuff\b|\betc\b|\band so on\b|\bblah\b"
)

_WORD = re.compile(r"\d[\d,]*(?:\.\d+)?[a-z%]*|[a-z][a-z0-9]*(?:'[a-z]+)*")
_CLAUSE_BREAK = re.compile(r"[,;:()\u2014\u2013]| - | but | however | although | though | whereas | yet ")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def normalise(text: str) -> str:
    """Lower-case, straight apostrophes, single spaces.

    >>> normalise("It’s  NOT\\nmy fault")
    "it's not my fault"
    """
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text.lower()).strip()


def words_of(text: str) -> list[str]:
    """Words of already-normalised text; numbers keep their unit (``100ms``).

    >>> words_of("i'll cap p99 at 100ms, not 2 s.")
    ["i'll", 'cap', 'p99', 'at', '100ms', 'not', '2', 's']
    """
    return _WORD.findall(text)


def _is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def is_negated(norm: str, start: int, window: int = 4) -> bool:
    """Is the match at ``start`` negated by one of the ``window`` words before it, in its clause?

    >>> s = "it was not my fault"
    >>> is_negated(s, s.index("my fault"))
    True
    >>> s = "i won't blame the database, i blame myself"
    >>> is_negated(s, s.index("blame")), is_negated(s, s.rindex("blame"))
    (True, False)
    """
    before = norm[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end():] if breaks else before
    return any(_is_negator(w) for w in words_of(clause)[-window:])


@dataclass
class Sentence:
    """One sentence (or line/bullet) of an answer."""

    text: str
    norm: str
    words: list[str]
    real: bool = True
    why_not_real: str = ""
    keyword_share: float = 0.0
    specific: int = 0  #: words that say something about this situation (not function, glue or stock words)

    @property
    def generic(self) -> bool:
        """Could this sentence be pasted into any answer? ("Thanks, good point.", "It does things.")"""
        return self.specific < GENERIC_BELOW or bool(_PLACEHOLDER.search(self.norm))

    @property
    def is_question(self) -> bool:
        """Does it end with a question mark?"""
        return self.text.rstrip().rstrip("\"')").endswith("?")


@dataclass
class Analysis:
    """The facts rules look at; built by :func:`analyse`."""

    raw: str
    words: list[str]
    sentences: list[Sentence]
    keyword_share: float
    repeated_share: float
    duplicate_sentences: int
    top_word_share: float = 0.0  #: the most used content word's share of all words (0 under four uses)

    @property
    def real_sentences(self) -> list[Sentence]:
        """Sentences that count for content rules."""
        return [s for s in self.sentences if s.real]


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def paragraphs(text: str) -> list[str]:
    """Blocks of text: a blank line or a bullet starts a new one; a hard-wrapped line does not.

    >>> paragraphs("Done: the LRU cache, wrapped\\nacross two lines.\\n\\nAsks:\\n1. Is it O(1)?\\n- Races?")
    ['Done: the LRU cache, wrapped across two lines.', 'Asks:', 'Is it O(1)?', 'Races?']
    """
    blocks: list[str] = []
    current: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        bullet = _BULLET.match(line)
        if not line.strip() or bullet:
            if current:
                blocks.append(" ".join(current))
            current = [line[bullet.end():].strip()] if bullet else []
        else:
            current.append(line.strip())
    if current:
        blocks.append(" ".join(current))
    return [b for b in blocks if b]


def split_sentences(text: str) -> list[str]:
    """Split into sentences: at sentence ends, blank lines and bullets (not at wrapped lines).

    >>> split_sentences("Done: the LRU.\\n- Not done: tests. What about races?")
    ['Done: the LRU.', 'Not done: tests.', 'What about races?']
    """
    out: list[str] = []
    for block in paragraphs(text):
        out += [part.strip() for part in _SENTENCE_END.split(block) if part.strip()]
    return out


def _covered_words(norm: str, patterns: Sequence[re.Pattern[str]]) -> int:
    spans = [m.span() for p in patterns for m in p.finditer(norm) if m.end() > m.start()]
    if not spans:
        return 0
    return sum(1 for w in _WORD.finditer(norm) if any(a < w.end() and w.start() < b for a, b in spans))


def _specific_words(words: Sequence[str]) -> int:
    """How many words say something particular: not function, glue or stock words.

    >>> _specific_words(words_of("thanks, good point, i will fix it"))
    0
    >>> _specific_words(words_of("i'll cap the wait at 100 ms and serve the stale session"))
    4
    """
    return sum(
        1
        for w in words
        if w not in FUNCTION_WORDS and w not in GLUE_VERBS and w not in STOCK_WORDS and (len(w) > 2 or w[0].isdigit())
    )


def _is_term_list(norm: str) -> bool:
    """Six or more comma-separated pieces of about two words each: an inventory, not a sentence.

    >>> _is_term_list("i'll add a threshold, a timeout, a breaker, backoff, jitter, slots, alerts")
    True
    >>> _is_term_list("i'll cap the wait at 100 ms, serve the stale value, and report p99 before and after")
    False
    """
    pieces = [len(words_of(c)) for c in norm.split(",") if words_of(c)]
    return len(pieces) >= 6 and sorted(pieces)[len(pieces) // 2] <= 2


def _mean_clause_words(norm: str) -> float:
    """Words per clause: a comma-separated string of terms has about one or two.

    >>> _mean_clause_words("sorry, delay, slow, today, we caused it")
    1.4
    """
    counts = [len(words_of(c)) for c in _CLAUSE_BREAK.split(norm)]
    counts = [n for n in counts if n]
    return sum(counts) / len(counts) if counts else 0.0


def analyse(text: str, keywords: Sequence[re.Pattern[str]] = ()) -> Analysis:
    """Split ``text`` into sentences and decide which are real prose.

    ``keywords`` are the rubric's vocabulary; a sentence that is mostly keywords is not real.

    >>> a = analyse("We ship it today. cache, ttl, p99, latency, benchmark")
    >>> [(s.text, s.real, s.why_not_real) for s in a.sentences]
    [('We ship it today.', True, ''), ('cache, ttl, p99, latency, benchmark', False, 'list of terms')]
    """
    raw = text if isinstance(text, str) else str(text)
    sentences: list[Sentence] = []
    seen: set[tuple[str, ...]] = set()
    duplicates = 0
    covered_total = 0
    all_words: list[str] = []
    for part in split_sentences(raw):
        norm = normalise(part)
        words = words_of(norm)
        if not words:
            continue
        all_words += words
        covered = _covered_words(norm, keywords)
        covered_total += covered
        share = covered / len(words)
        s = Sentence(part, norm, words, keyword_share=share, specific=_specific_words(words))
        function_share = sum(w in FUNCTION_WORDS or w in GLUE_VERBS for w in words) / len(words)
        key = tuple(words)
        if len(words) < 2:
            s.real, s.why_not_real = False, "too short"
        elif key in seen:
            s.real, s.why_not_real = False, "repeated"
            duplicates += 1
        elif len(words) < 4:
            pass  # a short sentence ("We're sorry.") is real unless the answer is mostly fragments
        elif function_share < 0.2 or _is_term_list(norm):
            s.real, s.why_not_real = False, "list of terms"
        elif len(words) >= 6 and len(set(words)) / len(words) < 0.5:
            s.real, s.why_not_real = False, "repeated words"
        elif len(words) >= 8 and share > 0.6 and (function_share < 0.4 or _mean_clause_words(norm) < 4):
            # a keyword-dense sentence with grammar and real clauses ("Not done: the tests cover
            # only the happy path.") is still a sentence; "sorry, delay, slow, today, ..." is not
            s.real, s.why_not_real = False, "mostly keywords"
        seen.add(key)
        sentences.append(s)
    short = [s for s in sentences if s.real and len(s.words) < 4]
    long_real = len([s for s in sentences if s.real]) - len(short)
    if len(short) > (max(1, long_real // 2) if long_real else 0):
        # Many short pieces: those without a function word or verb ("Good point.", "100 ms.")
        # are fragments; "Yes, that matters." stays a sentence unless short ones dominate.
        mostly_short = len(short) > 2 * max(1, long_real)
        for s in short:
            if mostly_short or not any(w in FUNCTION_WORDS or w in GLUE_VERBS for w in s.words):
                s.real, s.why_not_real = False, "fragment"
    content = [w for w in all_words if w not in FUNCTION_WORDS]
    top = max((content.count(w) for w in set(content)), default=0)
    trigrams = [tuple(content[i : i + 3]) for i in range(len(content) - 2)]
    repeated = len(trigrams) - len(set(trigrams))
    return Analysis(
        raw=raw,
        words=all_words,
        sentences=sentences,
        keyword_share=covered_total / len(all_words) if all_words else 0.0,
        repeated_share=repeated / len(trigrams) if trigrams else 0.0,
        duplicate_sentences=duplicates,
        top_word_share=top / len(all_words) if top >= 4 and all_words else 0.0,
    )
