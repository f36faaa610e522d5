"""Which questions of which modules pass, persisted to a small JSON file.

Where the file lives (first that applies):

1. ``$COURSEKIT_PROGRESS``;
2. ``<repo root>/.coursekit/progress.json`` — the repo root is the first directory,
   walking up from the current one, that contains both ``course/`` and ``lib/``;
3. ``~/.cache/cache-under-pressure/progress.json``.

Writes are atomic (temporary file + ``os.replace``) and never raise: an unwritable
disk costs the learner one warning, not a failed cell.

Run ``python -m coursekit.progress_store`` (or ``coursekit progress``) for the terminal view.
The notebook's ``progress()`` is :func:`coursekit.checking.progress`.

>>> import os, tempfile
>>> os.environ["COURSEKIT_PROGRESS"] = os.path.join(tempfile.mkdtemp(), "p.json")
>>> store = ProgressStore()
>>> store.record("01_lru", "lru_basic", "passed")
>>> store.status("01_lru", "lru_basic")
'passed'
>>> store.record("01_lru", "lru_basic", "not_attempted")  # a restarted kernel is no regression
>>> store.status("01_lru", "lru_basic")
'passed'
>>> del os.environ["COURSEKIT_PROGRESS"]
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, TextIO

from .display import Renderable, esc
from .questions import Module, all_modules

__all__ = [
    "DONE",
    "ProgressStore",
    "ProgressView",
    "find_repo_root",
    "print_progress",
    "progress_path",
    "progress_view",
]

STATUSES = ("passed", "answered", "failed", "not_attempted")
DONE = frozenset({"passed", "answered"})
LABELS = {
    "passed": "passed",
    "answered": "answered — graded by your instructor",
    "failed": "not passing yet",
    "not_attempted": "not attempted",
}
ICONS = {"passed": "✓", "answered": "✎", "failed": "✗", "not_attempted": "○"}
COLORS = {"passed": "#1a7f37", "answered": "#0969da", "failed": "#cf222e", "not_attempted": "#6e7781"}

_warned = False


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"coursekit: {message} (your work is fine; only the progress record is affected)",
                      RuntimeWarning, stacklevel=3)


def find_repo_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: cwd) holding ``course/`` and ``lib/``.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for d in ("course", "lib", "exercises/01_lru"): (root / d).mkdir(parents=True)
    >>> find_repo_root(root / "exercises/01_lru") == root
    True
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "course").is_dir() and (candidate / "lib").is_dir():
            return candidate
    return None


def progress_path() -> Path:
    """Where progress is stored (see the module docstring for the order)."""
    env = os.environ.get("COURSEKIT_PROGRESS")
    if env:
        return Path(env).expanduser()
    root = find_repo_root()
    if root is not None:
        return root / ".coursekit" / "progress.json"
    return Path.home() / ".cache" / "cache-under-pressure" / "progress.json"


class ProgressStore:
    """Read and update the progress file. ``path=None`` resolves :func:`progress_path` on each use."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else progress_path()

    def load(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{module_id: {question_id: {"status": ..., "passed_before": bool, "updated": iso}}}``."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except (OSError, ValueError) as exc:
            _warn_once(f"could not read {self.path}: {exc}")
            return {}
        modules = raw.get("modules") if isinstance(raw, dict) else None
        if not isinstance(modules, dict):
            return {}
        return {
            str(m): {str(q): e for q, e in qs.items() if isinstance(e, dict) and e.get("status") in STATUSES}
            for m, qs in modules.items()
            if isinstance(qs, dict)
        }

    def status(self, module_id: str, question_id: str) -> str:
        """The recorded status, ``"not_attempted"`` when nothing is recorded."""
        return self.load().get(module_id, {}).get(question_id, {}).get("status", "not_attempted")

    def passed_before(self, module_id: str, question_id: str) -> bool:
        """Did a check of this question ever pass (for a written answer: meet its rubric)?"""
        entry = self.load().get(module_id, {}).get(question_id, {})
        return bool(entry.get("passed_before")) or entry.get("status") == "passed"

    def record(self, module_id: str, question_id: str, status: str, *, passed: bool | None = None) -> None:
        """Record a check's outcome. Never raises.

        ``not_attempted`` never overwrites ``passed``/``answered`` (a restarted kernel
        has simply lost its variables); ``failed`` after ``passed`` is kept, with
        ``passed_before`` set. ``passed=True`` marks a pass whose status does not say so
        (a written answer is ``answered`` whether or not it meets its rubric).
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        data = self.load()
        entry = data.setdefault(module_id, {}).get(question_id, {})
        old = entry.get("status")
        if status == "not_attempted" and old in DONE:
            return
        new = {
            "status": status,
            "passed_before": (bool(entry.get("passed_before")) or old == "passed" or status == "passed"
                              or bool(passed)),
            "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        data[module_id][question_id] = new
        self._write({"version": 1, "modules": data})

    def _write(self, payload: dict[str, Any]) -> None:
        path = self.path
        tmp_name = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
            tmp_name = None
        except OSError as exc:
            _warn_once(f"could not save progress to {path}: {exc}")
        finally:
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name)
                except OSError:
                    pass


class ProgressView(Renderable):
    """A table of modules × questions with a rustlings-style summary line."""

    def __init__(self, modules: list[Module], data: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.modules = modules
        self.data = data
        self.rows: list[tuple[Module, str, str, str]] = []  # module, question id, title, status
        self.passed_before: set[tuple[str, str]] = set()
        for mod in modules:
            for q in mod.questions:
                entry = data.get(mod.id, {}).get(q.id, {})
                st = entry.get("status", "not_attempted")
                if entry.get("passed_before") and st not in DONE:
                    self.passed_before.add((mod.id, q.id))
                self.rows.append((mod, q.id, q.title, st))

    def label(self, module_id: str, question_id: str, status: str) -> str:
        """The status in words ("passed before — not passing now" after a regression)."""
        if (module_id, question_id) in self.passed_before:
            return "passed before — not passing now"
        return LABELS[status]

    @property
    def done(self) -> int:
        """How many questions are passed or answered."""
        return sum(1 for *_, st in self.rows if st in DONE)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def next_question(self) -> tuple[str, str, str] | None:
        """``(module_id, question_id, title)`` of the first question not done, in course order."""
        for mod, qid, title, st in self.rows:
            if st not in DONE:
                return mod.id, qid, title
        return None

    def summary(self) -> str:
        """One line: a bar, N of M done, and what to do next."""
        width = 20
        filled = round(width * self.done / self.total) if self.total else 0
        bar = "[" + "#" * filled + "-" * (width - filled) + "]"
        line = f"{bar} {self.done} of {self.total} questions done"
        nxt = self.next_question
        if self.total == 0:
            return "No course modules found."
        if nxt is None:
            return line + " — all done. Well done."
        return line + f". Next: {nxt[0]} · {nxt[1]} — {nxt[2]}  (start(\"{nxt[0]}\"), then check(\"{nxt[1]}\"))"

    def text(self) -> str:
        out = ["Progress", self.summary(), ""]
        width = max((len(qid) for _, qid, _, _ in self.rows), default=8)
        current = None
        for mod, qid, title, st in self.rows:
            if mod is not current:
                current = mod
                out.append(f"{mod.id}  {mod.title}")
            out.append(f"  {ICONS[st]} {qid:<{width}}  {title}  [{self.label(mod.id, qid, st)}]")
        return "\n".join(out).rstrip()

    def html(self) -> str:
        cells = []
        current = None
        for mod, qid, title, st in self.rows:
            if mod is not current:
                current = mod
                cells.append(
                    f"<tr><td colspan='3' style='text-align:left;padding-top:6px'><b>{esc(mod.id)}</b> "
                    f"{esc(mod.title)}</td></tr>"
                )
            cells.append(
                f"<tr><td style='color:{COLORS[st]};text-align:left'>{ICONS[st]}</td>"
                f"<td style='text-align:left'><code>{esc(qid)}</code> {esc(title)}</td>"
                f"<td style='color:{COLORS[st]};text-align:left'>{esc(self.label(mod.id, qid, st))}</td></tr>"
            )
        return (
            f"<div style='font-size:0.95em'><div><b>Progress</b> — {esc(self.summary())}</div>"
            f"<table style='border-collapse:collapse;margin-top:4px'>{''.join(cells)}</table></div>"
        )


def progress_view(store: ProgressStore | None = None) -> ProgressView:
    """Build the view from every known module and the progress file."""
    return ProgressView(all_modules(), (store or ProgressStore()).load())


def print_progress(stream: TextIO | None = None, store: ProgressStore | None = None) -> int:
    """Print the progress table as text (the ``coursekit progress`` command); returns 0.

    >>> from coursekit.questions import Module, Question, use_registry
    >>> import tempfile, os
    >>> store = ProgressStore(os.path.join(tempfile.mkdtemp(), "p.json"))
    >>> with use_registry([Module(id="01_lru", title="LRU", questions=[Question(id="lru_basic", title="Basic LRU")])]):
    ...     _ = print_progress(store=store)
    Progress
    [--------------------] 0 of 1 questions done. Next: 01_lru · lru_basic — Basic LRU  (start("01_lru"), then check("lru_basic"))
    <BLANKLINE>
    01_lru  LRU
      ○ lru_basic  Basic LRU  [not attempted]
    """
    print(progress_view(store).text(), file=stream or sys.stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(print_progress())
