"""Find the submissions to grade.

Two layouts:

* nbgrader's: ``<dir>/<learner>/<module>/<module>.ipynb`` (``<dir>`` is usually
  ``submitted/``; a folder that contains ``submitted/`` works too);
* one learner's repository: ``<repo>/exercises/<module>/<module>.ipynb``.

``with_missing`` then adds a ``missing`` submission for every learner (from the folder or the
gradebook) who has no notebook for a module being graded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..variants import normalize_learner, stored_learner
from .errors import GradingError


@dataclass(frozen=True)
class Submission:
    learner: str
    module: str
    path: Path | None  # None: the module folder holds no single notebook
    missing: bool = False  # no notebook at all for this module: not graded, never scored 0

    @property
    def key(self) -> str:
        return f"{self.learner}/{self.module}"


def _notebook_in(folder: Path, module: str) -> Path | None:
    p = folder / f"{module}.ipynb"
    if p.is_file():
        return p
    nbs = sorted(q for q in folder.glob("*.ipynb") if not q.name.startswith("."))
    return nbs[0] if len(nbs) == 1 else None


def _submission(learner: str, module: str, folder: Path) -> Submission:
    if not any(q for q in folder.glob("*.ipynb") if not q.name.startswith(".")):
        return Submission(learner, module, None, missing=True)
    return Submission(learner, module, _notebook_in(folder, module))


def with_missing(subs: list[Submission], known_modules: list[str], modules: list[str] | None = None,
                 learners: list[str] = ()) -> list[Submission]:
    """``subs`` plus a ``missing`` entry for each (learner, module) without one, in the grading order:
    learners from ``subs`` and ``learners`` (the gradebook's), modules being graded (``modules``, or
    every module someone submitted)."""
    graded = set(modules) if modules else {s.module for s in subs}
    have = {(s.learner, s.module) for s in subs}
    names = sorted({s.learner for s in subs} | set(learners))
    out = list(subs) + [Submission(n, m, None, missing=True) for n in names for m in known_modules
                        if m in graded and (n, m) not in have]
    order = {m: i for i, m in enumerate(known_modules)}
    return sorted(out, key=lambda s: (s.learner, order[s.module]))


def _learner_name(repo: Path, given: str | None) -> str:
    """Whose repository: ``--learner``, else the name its notebooks used for their variant
    (``.coursekit/learner``, see :mod:`coursekit.variants`), else ``$GITHUB_ACTOR``, else the folder's name."""
    name = normalize_learner(given or "") or stored_learner(repo) or normalize_learner(
        os.environ.get("GITHUB_ACTOR") or repo.resolve().name or "")
    return name or "learner"


def discover(path: str | Path, known_modules: list[str], modules: list[str] | None = None,
             learner: str | None = None) -> list[Submission]:
    root = Path(path)
    if not root.is_dir():
        raise GradingError(f"submissions folder not found: {root}")
    wanted = list(modules) if modules else list(known_modules)
    unknown = [m for m in wanted if m not in known_modules]
    if unknown:
        raise GradingError(f"unknown module(s): {', '.join(unknown)} (known: {', '.join(known_modules)})")

    subs: list[Submission] = []
    if (root / "exercises").is_dir():  # one learner's repository
        name = _learner_name(root, learner)
        for m in wanted:
            folder = root / "exercises" / m
            if folder.is_dir():
                subs.append(_submission(name, m, folder))
    else:
        if (root / "submitted").is_dir():
            root = root / "submitted"
        strays: list[str] = []
        for ldir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for mdir in sorted(p for p in ldir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if mdir.name not in known_modules:
                    strays.append(f"{ldir.name}/{mdir.name}")
                elif mdir.name in wanted:
                    subs.append(_submission(ldir.name, mdir.name, mdir))
        if strays:
            raise GradingError(
                "unknown module folder(s) in the submissions: " + ", ".join(strays)
                + f" (known modules: {', '.join(known_modules)})")
    if not [s for s in subs if not s.missing]:
        raise GradingError(f"no submissions found in {path} (expected <learner>/<module>/<module>.ipynb "
                           "or exercises/<module>/<module>.ipynb)")
    order = {m: i for i, m in enumerate(known_modules)}
    return sorted(subs, key=lambda s: (s.learner, order[s.module]))
