"""Where a role-play's replies live between runs: the answer variable, a JSON file, the kernel.

``Roleplay`` keeps each reply in the notebook's answer variable (a list of strings) and in
``.coursekit/roleplay-<name>.json`` beside the notebook, so a kernel restart or Run All
through the untouched answer cell does not lose them; the file also remembers what the
kernel last wrote into each answer cell (:mod:`coursekit.roleplay_cells`), so an
unedited cell can be brought up to date after a restart. Nothing here imports a widget.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .roleplay import Roleplay

__all__ = ["STUB_MARKERS", "after_cell", "load_replies", "load_written", "notebook_namespace", "replies_in",
           "restore_replies", "save_replies", "watch_answer"]

STUB_MARKERS = ("YOUR ANSWER HERE", "YOUR CODE HERE", "raise NotImplementedError")


def replies_in(value: Any) -> list[str]:
    """The real replies in ``value``: its leading strings that are neither blank nor starter text.

    >>> replies_in(["Thanks, fair.", "\\n# YOUR CODE HERE\\nraise NotImplementedError()\\n", "later"])
    ['Thanks, fair.']
    >>> replies_in("YOUR ANSWER HERE"), replies_in(None)
    ([], [])
    """
    if not isinstance(value, (list, tuple)):
        return []
    out = []
    for reply in value:
        if not isinstance(reply, str) or not reply.strip() or any(m in reply for m in STUB_MARKERS):
            break
        out.append(reply)
    return out


def load_replies(path: Path) -> Any:
    """The ``replies`` saved in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("replies")
    except (OSError, ValueError, AttributeError):
        return None


def load_written(path: Path) -> dict[str, str]:
    """What the kernel last wrote into each answer cell (by the names the cell assigns), as saved in ``path``."""
    try:
        written = json.loads(path.read_text(encoding="utf-8")).get("written")
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: v for k, v in written.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(
        written, dict) else {}


def save_replies(path: Path, replies: list[str], written: dict[str, str] | None = None) -> None:
    """Write ``replies`` (and ``written``) to ``path`` atomically; a read-only folder is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        data = {"replies": replies, "written": written or {}}
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only folder: the replies still live in the kernel and on the last screen


# The newest role-play per (namespace, answer name), watched after every cell: when an
# untouched answer cell runs after the widget (Run All, Shift+Enter through), the replies
# are written into it (coursekit.roleplay_cells); when the role-play is not finished yet,
# its starter text would replace them in the kernel: they are put back and the learner is told.
_LIVE: dict[tuple[int, str], "Roleplay"] = {}
_HOOKED: set[int] = set()


def watch_answer(rp: "Roleplay") -> None:
    """Keep ``rp``'s replies when a later cell overwrites its answer variable with starter text."""
    _LIVE[(id(rp.ns), rp.answer_name)] = rp
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None or id(shell) in _HOOKED:
        return
    _HOOKED.add(id(shell))
    shell.events.register("post_run_cell", lambda result: after_cell(result, shell))


def after_cell(result: Any, shell: Any) -> None:
    """The post-run-cell hook: write replies into the answer cell that just ran, then :func:`restore_replies`."""
    from .roleplay_cells import write_cell

    raw = getattr(getattr(result, "info", None), "raw_cell", None)
    if isinstance(raw, str):
        for rp in list(_LIVE.values()):
            note = write_cell(rp, raw, shell)
            if note:
                print(note)
    restore_replies()


def restore_replies() -> None:
    """Put back the replies that starter text replaced (the post-run-cell hook), and say so."""
    for (_, name), rp in list(_LIVE.items()):
        current = rp.ns.get(name)
        if rp.replies and current != rp.replies and not replies_in(current) and current is not None:
            rp.ns[name] = list(rp.replies)
            print(
                f"(Kept your {len(rp.replies)} role-play repl{'y' if len(rp.replies) == 1 else 'ies'} in {name}: "
                "the starter text in this cell did not replace them.)"
            )


def notebook_namespace() -> dict[str, Any]:
    """The notebook's user namespace, or the globals of whoever called ``Roleplay(...)``."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and isinstance(getattr(shell, "user_ns", None), dict):
        return shell.user_ns
    return sys._getframe(2).f_globals  # 0: here, 1: Roleplay.__init__, 2: its caller
