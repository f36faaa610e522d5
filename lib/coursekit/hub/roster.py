"""The roster: who may log in, and who is an instructor.

One name per line; ``#`` starts a comment; a line ``name instructor`` (or ``name  admin``)
marks an instructor. Names become Linux users and nbgrader student ids, so they must be
valid portable user names: lowercase letters, digits, ``_`` and ``-``, starting with a
letter, at most 32 characters.

>>> r = parse_roster('''
... # Cohort 2026-12
... alice
... bob
... dana instructor
... ''')
>>> r.learners, r.instructors
(('alice', 'bob'), ('dana',))
>>> r.everyone
('alice', 'bob', 'dana')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
INSTRUCTOR_WORDS = {"instructor", "admin", "facilitator"}
#: Names that must never be (re)created or removed as course users.
RESERVED = {"root", "daemon", "bin", "sys", "nobody", "www-data", "jupyterhub", "admin"}


class RosterError(ValueError):
    """A roster line that cannot become a user; the message names the line."""


@dataclass(frozen=True)
class Roster:
    learners: tuple[str, ...]
    instructors: tuple[str, ...]

    @property
    def everyone(self) -> tuple[str, ...]:
        return self.learners + self.instructors

    def is_instructor(self, name: str) -> bool:
        return name in self.instructors


def parse_roster(text: str) -> Roster:
    """Parse roster text; raises :class:`RosterError` on a bad name, a duplicate or no instructor.

    >>> parse_roster("Alice\\nbob instructor")
    Traceback (most recent call last):
    ...
    coursekit.hub.roster.RosterError: line 1: 'Alice' is not a valid user name (lowercase letters, digits, _ and -, starting with a letter, at most 32 characters)
    >>> parse_roster("alice")
    Traceback (most recent call last):
    ...
    coursekit.hub.roster.RosterError: the roster names no instructor: add a line 'yourname instructor'
    """
    learners: list[str] = []
    instructors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        name, *role = words
        if not NAME.match(name):
            raise RosterError(
                f"line {number}: {name!r} is not a valid user name (lowercase letters, digits, _ and -,"
                " starting with a letter, at most 32 characters)"
            )
        if name in RESERVED:
            raise RosterError(f"line {number}: {name!r} is a reserved system name")
        if name in seen:
            raise RosterError(f"line {number}: {name!r} appears twice")
        if role and (len(role) > 1 or role[0].lower() not in INSTRUCTOR_WORDS | {"learner"}):
            raise RosterError(f"line {number}: expected 'name' or 'name instructor', got {raw.strip()!r}")
        seen.add(name)
        (instructors if role and role[0].lower() in INSTRUCTOR_WORDS else learners).append(name)
    if not instructors:
        raise RosterError("the roster names no instructor: add a line 'yourname instructor'")
    return Roster(tuple(learners), tuple(instructors))


def read_roster(path: str | Path) -> Roster:
    """:func:`parse_roster` on a file."""
    return parse_roster(Path(path).read_text(encoding="utf-8"))
