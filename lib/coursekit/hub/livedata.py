"""What the facilitator's live view shows: learner × module × question, read from disk.

Two sources, both read by root (the live view runs as the hub's user):

* each learner's coursekit progress file (:mod:`coursekit.progress`'s format,
  ``{"version": 1, "modules": {module: {question: {"status", "passed_before", "updated"}}}}``),
  at ``<home>/.cache/cache-under-pressure/progress.json``: the hub sets
  ``COURSEKIT_PROGRESS`` to that path for every learner's server;
* nbgrader's exchange inbound, ``<exchange>/<course_id>/inbound/<learner>+<assignment>+<timestamp>[+<random>]/``:
  when each learner submitted each module.

The progress file keeps only each question's latest status, so the number of failed
checks is counted by watching it: every new ``updated`` stamp seen with status
``failed`` counts one failed check (:class:`FailureCounter`). Two failures within the
same second, or between two polls, count once; a ``failures`` field in the file, if a
later coursekit writes one, is used when it is larger.

Nothing here imports jupyterhub or tornado, and nothing raises on a learner's odd file:
a missing, unreadable, oversized, non-regular (a FIFO, a symlink) or broken file reads
as "nothing recorded" with a note saying why.

>>> import json, os, tempfile
>>> home = tempfile.mkdtemp()
>>> path = progress_file(home)
>>> os.makedirs(os.path.dirname(path))
>>> entry = {"status": "failed", "passed_before": False, "updated": "2026-12-01T09:00:00+00:00"}
>>> _ = open(path, "w").write(json.dumps({"version": 1, "modules": {"01_lru": {"lru_basic": entry}}}))
>>> data, note = read_progress(path)
>>> data["01_lru"]["lru_basic"]["status"], note
('failed', None)
>>> counter = FailureCounter()
>>> counter.observe("ann", data); counter.observe("ann", data)   # the same stamp twice: one failure
>>> counter.count("ann", "01_lru", "lru_basic")
1
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "PROGRESS_RELATIVE",
    "STUCK_AFTER",
    "FailureCounter",
    "progress_file",
    "read_progress",
    "read_submissions",
    "snapshot",
]

#: Where a learner's progress file lives, relative to their home (the hub sets COURSEKIT_PROGRESS to it).
PROGRESS_RELATIVE = ".cache/cache-under-pressure/progress.json"
#: A question with this many failed checks and no pass is shown as "stuck".
STUCK_AFTER = 3
MAX_BYTES = 1 << 20
STATUSES = ("passed", "answered", "failed", "not_attempted")
#: How the view names each progress status.
SHOWN = {"passed": "passed", "answered": "answered", "failed": "attempted", "not_attempted": "not started"}


def progress_file(home: str | os.PathLike[str]) -> str:
    """The progress file of the learner whose home is ``home``."""
    return os.path.join(os.fspath(home), PROGRESS_RELATIVE)


def _read_small_regular_file(path: str) -> bytes:
    """The bytes of ``path``; raises OSError for a symlink, a non-regular or a too-large file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise OSError(f"{path} is larger than {MAX_BYTES} bytes")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_progress(path: str | os.PathLike[str]) -> tuple[dict[str, dict[str, dict[str, Any]]], str | None]:
    """``({module: {question: entry}}, note)``; ``note`` says why nothing could be read, else None.

    A missing file is simply "not started" (note None). Entries with an unknown status are dropped.

    >>> read_progress("/nonexistent/progress.json")
    ({}, None)
    """
    path = os.fspath(path)
    try:
        raw = json.loads(_read_small_regular_file(path).decode("utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, f"could not read the progress file: {exc}"
    modules = raw.get("modules") if isinstance(raw, dict) else None
    if not isinstance(modules, dict):
        return {}, "the progress file has no 'modules' table"
    data = {
        str(m): {
            str(q): e for q, e in qs.items() if isinstance(e, dict) and e.get("status") in STATUSES
        }
        for m, qs in modules.items()
        if isinstance(qs, dict)
    }
    return data, None


def read_submissions(exchange_root: str | os.PathLike[str], course_id: str) -> dict[str, dict[str, str]]:
    """``{learner: {assignment: latest submission time}}`` from nbgrader's exchange inbound.

    The time is the content of the submission's ``timestamp.txt`` (nbgrader's own record),
    else the timestamp in the folder name. A missing inbound folder means no submissions.

    >>> import tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> for name in ("ann+01_lru+2026-12-01 09:00:00.000001 UTC+abc", "ann+01_lru+2026-12-01 09:30:00.000001 UTC+def"):
    ...     os.makedirs(os.path.join(root, "c", "inbound", name))
    >>> read_submissions(root, "c")
    {'ann': {'01_lru': '2026-12-01 09:30:00.000001 UTC'}}
    """
    inbound = os.path.join(os.fspath(exchange_root), course_id, "inbound")
    try:
        names = os.listdir(inbound)
    except OSError:
        return {}
    latest: dict[str, dict[str, str]] = {}
    for name in sorted(names):
        parts = name.split("+")
        if len(parts) < 3 or not parts[0] or not parts[1]:
            continue
        learner, assignment, stamp = parts[0], parts[1], parts[2]
        try:
            text = _read_small_regular_file(os.path.join(inbound, name, "timestamp.txt"))
            stamp = text.decode("utf-8").strip() or stamp
        except (OSError, UnicodeDecodeError):
            pass
        mine = latest.setdefault(learner, {})
        if assignment not in mine or stamp > mine[assignment]:
            mine[assignment] = stamp
    return latest


@dataclass
class FailureCounter:
    """Counts failed checks per learner × module × question by watching progress snapshots."""

    _counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _last: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def observe(self, learner: str, data: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        """Take one reading of ``learner``'s progress (as :func:`read_progress` returns it)."""
        for module_id, questions in data.items():
            for question_id, entry in questions.items():
                key = (learner, module_id, question_id)
                stamp = str(entry.get("updated", ""))
                if entry.get("status") == "failed" and self._last.get(key) != stamp:
                    self._counts[key] = self._counts.get(key, 0) + 1
                self._last[key] = stamp
                recorded = entry.get("failures")
                if isinstance(recorded, int) and not isinstance(recorded, bool):
                    self._counts[key] = max(self._counts.get(key, 0), recorded)

    def count(self, learner: str, module_id: str, question_id: str) -> int:
        return self._counts.get((learner, module_id, question_id), 0)


def snapshot(
    learners: Sequence[str],
    modules: Iterable[tuple[str, Sequence[str]]],
    progress: Mapping[str, tuple[Mapping[str, Any], str | None]],
    submissions: Mapping[str, Mapping[str, str]],
    counter: FailureCounter,
    *,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The whole view as plain data (the JSON the page polls).

    ``modules``: ``[(module_id, [question_id, ...]), ...]`` in course order;
    ``progress``: ``{learner: read_progress(...)}``. Each learner gets, per module, one
    cell per question ``{"status": passed|answered|attempted|not started, "failed_checks": n,
    "stuck": bool, "updated": iso|None}``, plus ``submitted`` (time or None), ``done``/``total``
    and ``note``.

    >>> c = FailureCounter()
    >>> data = {"01_lru": {"q": {"status": "failed", "updated": "t1"}}}
    >>> c.observe("ann", data)
    >>> s = snapshot(["ann", "bo"], [("01_lru", ["q", "r"])], {"ann": (data, None)}, {"bo": {"01_lru": "t"}}, c)
    >>> [(row["learner"], [q["status"] for q in row["modules"]["01_lru"]["questions"].values()]) for row in s["learners"]]
    [('ann', ['attempted', 'not started']), ('bo', ['not started', 'not started'])]
    >>> s["learners"][1]["modules"]["01_lru"]["submitted"]
    't'
    """
    modules = [(m, list(qs)) for m, qs in modules]
    rows = []
    for learner in learners:
        data, note = progress.get(learner, ({}, None))
        row: dict[str, Any] = {"learner": learner, "note": note, "modules": {}, "done": 0, "total": 0, "stuck": []}
        for module_id, question_ids in modules:
            cells = {}
            for question_id in question_ids:
                entry = data.get(module_id, {}).get(question_id, {})
                status = entry.get("status", "not_attempted")
                failed = counter.count(learner, module_id, question_id)
                stuck = status == "failed" and failed >= STUCK_AFTER
                cells[question_id] = {
                    "status": SHOWN.get(status, "not started"),
                    "failed_checks": failed,
                    "stuck": stuck,
                    "updated": entry.get("updated"),
                }
                row["total"] += 1
                row["done"] += status in ("passed", "answered")
                if stuck:
                    row["stuck"].append(f"{module_id}/{question_id}")
            row["modules"][module_id] = {
                "questions": cells,
                "submitted": submissions.get(learner, {}).get(module_id),
            }
        rows.append(row)
    when = (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds")
    return {"generated": when, "modules": [{"id": m, "questions": qs} for m, qs in modules], "learners": rows}


def learner_homes(learners: Iterable[str]) -> dict[str, str]:
    """``{learner: home}`` from the password database; learners without a Linux user are left out."""
    import pwd

    homes = {}
    for name in learners:
        try:
            homes[name] = pwd.getpwnam(name).pw_dir
        except KeyError:
            continue
    return homes


def read_all(
    learners: Sequence[str], homes: Mapping[str, str]
) -> dict[str, tuple[dict[str, dict[str, dict[str, Any]]], str | None]]:
    """:func:`read_progress` for every learner (a learner without a home: no data, with a note)."""
    out = {}
    for name in learners:
        home = homes.get(name)
        out[name] = read_progress(progress_file(home)) if home else ({}, "no Linux user")
    return out

