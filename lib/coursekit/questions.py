"""Question registry types: what a module's questions are and how they are checked.

A course's content package (this course: ``cache_course``, one file or subpackage per
module) defines each module as::

    QUESTIONS = [Question(...), ...]
    MODULE = Module(id="01_lru", title="An O(1) LRU cache", questions=QUESTIONS)

and announces its modules to coursekit through an entry point (see "registry" below).

A *check* is a plain function ``def check_fn(ns: dict) -> None`` that looks at the
learner's namespace and raises :class:`Mismatch` (or ``AssertionError``) when the
learner's code does not do what the question asks. Use :func:`expect` and
:func:`expect_true` to raise well-formed mismatches.

>>> def check_add(ns):
...     expect("add(2, 3)", ns["add"](2, 3), 5, advice="Return the sum, don't print it.")
>>> q = Question(id="q_add", title="Add two numbers", checks=[check_add], hints=["What does + do?"])
>>> m = Module(id="99_demo", title="Demo", questions=[q])
>>> m.question("q_add").title
'Add two numbers'
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Sequence

if TYPE_CHECKING:  # figures imports the progress store, which imports this module
    from .figures import Figure

__all__ = [
    "Check",
    "Mismatch",
    "Module",
    "NotAttempted",
    "Question",
    "all_modules",
    "check_name",
    "expect",
    "expect_true",
    "find_question",
    "load_module",
    "providers",
    "register_module",
    "reload_providers",
    "use_registry",
]

Check = Callable[[dict], None]
Kind = Literal["code", "reflect"]


class Mismatch(AssertionError):
    """A named check whose result differs from what was expected.

    >>> m = Mismatch("get('a') after eviction", None, 1, "Evict the least recently used key.")
    >>> print(m)
    get('a') after eviction: expected None, got 1. Evict the least recently used key.
    """

    def __init__(self, name: str, expected: Any, got: Any, advice: str = "") -> None:
        self.name = name
        self.expected = expected
        self.got = got
        self.advice = advice
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.name}: expected {short_repr(self.expected)}, got {short_repr(self.got)}."
        return f"{text} {self.advice}".strip()


class NotAttempted(Exception):
    """Raised (by checks or by the namespace) when the learner has not started yet.

    >>> str(NotAttempted("`LRUCache` isn't defined yet."))
    "`LRUCache` isn't defined yet."
    """


_MISSING = object()


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters, so a huge value never floods feedback.

    >>> short_repr(list(range(100)), limit=20)
    '[0, 1, 2, 3, 4, 5, …'
    >>> short_repr("ok")
    "'ok'"
    """
    try:
        text = repr(value)
    except Exception as exc:  # a learner's __repr__ may raise
        text = f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expect(name: str, got: Any, expected: Any, advice: str = "") -> None:
    """Raise :class:`Mismatch` unless ``got == expected``.

    >>> expect("len(cache)", 2, 2)
    >>> expect("len(cache)", 3, 2, advice="Evict before inserting.")
    Traceback (most recent call last):
    ...
    coursekit.questions.Mismatch: len(cache): expected 2, got 3. Evict before inserting.
    """
    try:
        equal = bool(got == expected)
    except Exception:  # e.g. numpy arrays, learner objects with odd __eq__
        equal = False
    if not equal:
        raise Mismatch(name, expected, got, advice)


def expect_true(name: str, condition: Any, advice: str = "", *, expected: Any = True, got: Any = _MISSING) -> None:
    """Raise :class:`Mismatch` unless ``condition`` is truthy.

    Pass ``expected=``/``got=`` to say more than "True"/"False" in the message.

    >>> expect_true("p99 under 150 ms", 120 < 150)
    >>> expect_true("p99 under 150 ms", 900 < 150, "Serve stale after the threshold.",
    ...             expected="< 150 ms", got="900 ms")
    Traceback (most recent call last):
    ...
    coursekit.questions.Mismatch: p99 under 150 ms: expected '< 150 ms', got '900 ms'. Serve stale after the threshold.
    """
    if not condition:
        raise Mismatch(name, expected, bool(condition) if got is _MISSING else got, advice)


def check_name(fn: Callable[..., Any]) -> str:
    """A readable name for a check function: its docstring's first line, else its name.

    >>> def check_evicts_oldest(ns): '''evicts the least recently used key'''
    >>> check_name(check_evicts_oldest)
    'evicts the least recently used key'
    >>> check_name(lambda ns: None)
    'check'
    """
    doc = (getattr(fn, "__doc__", None) or "").strip()
    if doc:
        return doc.splitlines()[0].strip()
    name = getattr(fn, "__name__", "check")
    if name == "<lambda>":
        return "check"
    return re.sub(r"^check_?", "", name).replace("_", " ").strip() or "check"


@dataclass(frozen=True)
class Question:
    """One question of a module.

    ``kind="code"``: ``checks`` run against the learner's namespace.
    ``kind="reflect"``: the learner writes a string into the variable ``answer``
    (default: the question id) and the named ``rubric`` gives formative feedback.
    ``placeholder`` is the starter text of a reflective answer (counts as not attempted).
    ``figures``: ``figures(ns) -> [Figure, ...]``, the learner's own before/after figures,
    measured from their code in ``ns``; ``check()`` calls it once the question passes and records
    the result for the completion summary (:mod:`coursekit.figures`). If it raises, nothing is
    recorded and the check's report is unchanged.

    >>> Question(id="pr_text", title="Your WIP PR", kind="reflect", rubric="wip_pr").answer_name
    'pr_text'
    """

    id: str
    title: str
    kind: Kind = "code"
    checks: Sequence[Check] = field(default_factory=list)
    hints: Sequence[str] = field(default_factory=list)
    rubric: str | None = None
    answer: str | None = None
    placeholder: str | None = None
    figures: Callable[[dict], Iterable[Figure]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("code", "reflect"):
            raise ValueError(f"Question {self.id!r}: kind must be 'code' or 'reflect', not {self.kind!r}")
        if self.kind == "reflect" and not self.rubric:
            raise ValueError(f"Question {self.id!r}: a reflective question needs a rubric name")
        if self.figures is not None and (self.kind != "code" or not callable(self.figures)):
            raise ValueError(f"Question {self.id!r}: figures must be a function of the namespace, on a code question")

    @property
    def answer_name(self) -> str:
        """The learner variable a reflective answer is read from."""
        return self.answer or self.id


@dataclass(frozen=True)
class Module:
    """A course module: an id such as ``"01_lru"``, a title and its questions in order."""

    id: str
    title: str
    questions: Sequence[Question] = field(default_factory=list)

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"Module {self.id!r} has duplicate question ids: {dupes}")

    def question(self, question_id: str) -> Question:
        """The question with this id (``KeyError`` if there is none)."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    @property
    def question_ids(self) -> list[str]:
        """Question ids in course order."""
        return [q.id for q in self.questions]


# --------------------------------------------------------------------------- registry
#
# coursekit imports no course: a content package announces itself with an entry point in the
# group ``coursekit.content`` (this course's is declared in pyproject.toml).
# The entry point names an object (usually the package) with ``MODULES`` (a sequence of
# :class:`Module`) and, optionally, ``RUBRICS`` (a sequence of rubrics for
# :func:`coursekit.rubrics.get_rubric`). Providers load on first use, not at import.

ENTRY_POINT_GROUP = "coursekit.content"

_registered: dict[str, Module] = {}
_broken_warned: set[str] = set()
_use_providers = True
_loaded: list[Any] | None = None  # provider objects, once loaded


def register_module(module: Module) -> Module:
    """Register a module explicitly (tests, or a course without an entry point).

    >>> with use_registry([]):
    ...     _ = register_module(Module(id="98_x", title="X"))
    ...     load_module("98_x").title
    'X'
    """
    _registered[module.id] = module
    return module


@contextmanager
def use_registry(modules: Sequence[Module]) -> Iterator[None]:
    """Use exactly ``modules`` (no content providers) inside the ``with`` block; for tests.

    >>> with use_registry([Module(id="97_y", title="Y")]):
    ...     [m.id for m in all_modules()]
    ['97_y']
    """
    global _use_providers
    saved, saved_use = dict(_registered), _use_providers
    _registered.clear()
    _registered.update({m.id: m for m in modules})
    _use_providers = False
    try:
        yield
    finally:
        _registered.clear()
        _registered.update(saved)
        _use_providers = saved_use


def _warn_broken(name: str, exc: BaseException) -> None:
    """Warn once per content provider that fails to load (an authoring bug, not the learner's)."""
    if name not in _broken_warned:
        _broken_warned.add(name)
        warnings.warn(f"coursekit: could not load {name}: {exc}", RuntimeWarning, stacklevel=3)


def entry_points() -> list[Any]:
    """The installed ``coursekit.content`` entry points (sorted by name)."""
    from importlib.metadata import entry_points as _entry_points

    return sorted(_entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def providers() -> list[Any]:
    """Every content provider, loaded once; a broken one is skipped with a warning."""
    global _loaded
    if _loaded is None:
        loaded = []
        for ep in entry_points():
            try:
                loaded.append(ep.load())
            except Exception as exc:  # another package's bug must not hide this course
                _warn_broken(f"{ep.name} ({ep.value})", exc)
        _loaded = loaded
    return list(_loaded)


def reload_providers() -> None:
    """Forget the loaded providers (after installing a content package, or in tests)."""
    global _loaded
    _loaded = None


def _provided_modules() -> dict[str, Module]:
    """The providers' modules (none inside :func:`use_registry`)."""
    found: dict[str, Module] = {}
    if not _use_providers:
        return found
    for provider in providers():
        for mod in getattr(provider, "MODULES", ()) or ():
            if isinstance(mod, Module):
                found.setdefault(mod.id, mod)
    return found


def load_module(module_id: str) -> Module:
    """Find a module by id: registered ones first, then the content providers.

    Raises ``KeyError`` with the known ids when there is no such module.

    >>> with use_registry([Module(id="96_z", title="Z")]):
    ...     load_module("96_z").id
    '96_z'
    """
    if module_id in _registered:
        return _registered[module_id]
    found = _provided_modules()
    if module_id in found:
        return found[module_id]
    known = ", ".join(m.id for m in all_modules()) or "none"
    raise KeyError(f"No course module {module_id!r} (known: {known})")


def all_modules() -> list[Module]:
    """Every known module, sorted by id (so ``00_…`` comes before ``01_…``)."""
    found = _provided_modules()
    found.update(_registered)
    return [found[k] for k in sorted(found)]


def find_question(question_id: str, module_id: str | None = None) -> tuple[Module, Question]:
    """Find a question: in ``module_id`` if given, else in the one module that has it.

    ``"01_lru:lru_basic"`` names the module explicitly. Raises ``KeyError`` with a
    learner-readable message when the question is unknown or ambiguous.

    >>> q = Question(id="a", title="A")
    >>> with use_registry([Module(id="95_w", title="W", questions=[q])]):
    ...     find_question("95_w:a")[1].title
    'A'
    """
    if ":" in question_id:
        module_id, question_id = question_id.split(":", 1)
    if module_id is not None:
        mod = load_module(module_id)
        try:
            return mod, mod.question(question_id)
        except KeyError:
            raise KeyError(
                f"Module {mod.id} has no question {question_id!r}. Its questions: {', '.join(mod.question_ids)}"
            ) from None
    hits = [(m, m.question(question_id)) for m in all_modules() if question_id in m.question_ids]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise KeyError(f"There is no question {question_id!r}. Did you run start(\"<module>\") first?")
    mods = ", ".join(m.id for m, _ in hits)
    raise KeyError(f"Question {question_id!r} is in several modules ({mods}); run start(\"<module>\") first.")
