"""Per-learner variants: each learner's scenarios derive from (learner, module), the same in
their notebook and at grading, as PrairieLearn randomizes per student.

``variant(module, n)`` is a stable hash (SHA-256, never Python's ``hash()``) of a course salt,
the learner's name and the module, mapped to ``1 … n-1``; the learner :data:`REFERENCE` (what
the build, the reference solutions and the course's own tests run as) always gets ``0``, the
scenario the course's text quotes. The content decides what a variant means (a seed, a hot
key, an outage window); hidden tests never use it and keep their own fixed seeds.

Who the learner is, :func:`learner_id` — the first that applies:

1. ``$COURSEKIT_LEARNER`` — the grader sets it in every grading kernel to the name it grades
   (the submission folder, or ``coursekit grade --learner``); nbgrader's autograde sets it to
   the student id; the build sets it to :data:`REFERENCE`;
2. ``$JUPYTERHUB_USER`` — a cohort on the hub, where it is the nbgrader student id and the
   name of the submission folder;
3. ``<repo root>/.coursekit/learner`` — self-paced: written once, on first use, with the OS
   user's name; ``coursekit grade`` of that repository reads it when no ``--learner`` is
   given (commit it, so your own CI grades your variant);
4. the OS user's name, when there is no repository to keep it in.

While grading (``$COURSEKIT_GRADING``) only step 1 counts, as it was when this module was
imported (before any learner code): a grading kernel reads nothing but what the grader passed
in, so a missing name is an error, never a guess.

>>> import os
>>> os.environ["COURSEKIT_LEARNER"] = "alice"
>>> learner_id(), variant("week-1", 1000, salt="demo") == variant("week-1", 1000, learner="alice", salt="demo")
('alice', True)
>>> variant("week-1", 1000, learner=REFERENCE, salt="demo"), 0 < variant("week-1", 1000, salt="demo") < 1000
(0, True)
>>> del os.environ["COURSEKIT_LEARNER"]
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from pathlib import Path

__all__ = ["LEARNER_FILE", "REFERENCE", "VariantError", "learner_id", "normalize_learner", "stored_learner",
           "variant"]

#: The learner whose variant is always 0: the course's reference scenario.
REFERENCE = "reference"
#: Where a self-paced learner's name is kept, relative to the repository root.
LEARNER_FILE = Path(".coursekit") / "learner"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")


class VariantError(RuntimeError):
    """The learner's identity cannot be established (or a variant was asked for wrongly)."""


def normalize_learner(name: str) -> str:
    """A learner name as the grader spells it (and as submission folders are named): surrounding
    spaces dropped, anything but letters, digits and ``_.@-`` replaced by ``_``.

    >>> normalize_learner("  Ann Lee "), normalize_learner("bob@example.org")
    ('Ann_Lee', 'bob@example.org')
    """
    return _UNSAFE.sub("_", str(name).strip())


#: While grading: the learner the grader named, as it was when this module was first imported (the
#: guard imports the notebook's modules before any learner code runs, so a learner cell that edits
#: ``os.environ`` cannot switch the checks to another variant).
_GRADED = normalize_learner(os.environ.get("COURSEKIT_LEARNER", "")) if os.environ.get("COURSEKIT_GRADING") else ""


def stored_learner(repo: str | os.PathLike[str]) -> str | None:
    """The name kept in ``<repo>/.coursekit/learner``, or None when there is none."""
    try:
        text = (Path(repo) / LEARNER_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    name = normalize_learner(text.splitlines()[0] if text.strip() else "")
    return name or None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (a container's arbitrary uid)
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "learner"


def _repo_root() -> Path | None:
    from .progress_store import find_repo_root

    return find_repo_root()


def learner_id() -> str:
    """The learner's name (see the module docstring for the order).

    Raises:
        VariantError: while grading, when the grader did not pass ``COURSEKIT_LEARNER``.
    """
    grading = bool(os.environ.get("COURSEKIT_GRADING"))
    if grading and _GRADED:
        return _GRADED
    given = normalize_learner(os.environ.get("COURSEKIT_LEARNER", ""))
    if given:
        return given
    if grading:
        raise VariantError("COURSEKIT_LEARNER is not set: the grader passes the name of the learner it grades "
                           "into every grading kernel, so this notebook cannot tell whose variant to grade")
    hub = normalize_learner(os.environ.get("JUPYTERHUB_USER", ""))
    if hub:
        return hub
    root = _repo_root()
    if root is not None:
        kept = stored_learner(root)
        if kept:
            return kept
        name = normalize_learner(_os_user())
        try:  # first use: keep it, so the variant does not change with the machine or the account
            path = root / LEARNER_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".learner.{os.getpid()}")
            tmp.write_text(name + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
        return stored_learner(root) or name
    return normalize_learner(_os_user())


def variant(module: str, n: int, *, learner: str | None = None, salt: str = "coursekit") -> int:
    """The learner's variant of ``module``: 0 for :data:`REFERENCE`, else one of ``1 … n-1``.

    Stable across machines, processes and Python versions (SHA-256 of ``salt``, the learner's
    name, case-folded, and ``module``). ``learner`` defaults to :func:`learner_id`.

    Raises:
        ValueError: ``n`` is below 2 (no variant besides the reference).
        VariantError: see :func:`learner_id`.
    """
    if int(n) < 2:
        raise ValueError(f"a variant needs n >= 2 (variant 0 is the reference), got n={n!r}")
    name = learner_id() if learner is None else normalize_learner(learner)
    if not name:
        raise VariantError("an empty learner name has no variant")
    if name == REFERENCE:
        return 0
    digest = hashlib.sha256("\0".join((salt, name.casefold(), module)).encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % (int(n) - 1)
