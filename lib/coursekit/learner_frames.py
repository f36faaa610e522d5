"""Where the learner's code is: their namespace, their frames, how their call is used.

``check()`` reports errors at "line 3 of your cell", finds the notebook's namespace, and
notices when its result is the subject of an ``assert`` (the autograder test cell).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["caller_namespace", "first_line", "result_is_asserted", "where"]


def caller_namespace() -> dict[str, Any]:
    """The notebook's user namespace if IPython runs us, else the calling frame's globals."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and isinstance(getattr(shell, "user_ns", None), dict):
        return shell.user_ns
    return sys._getframe(2).f_globals  # 0: here, 1: check(), 2: whoever called check()


_LIBRARY_DIRS = tuple(
    str(Path(p).resolve())
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parent.parent)}
)


def _is_learner_file(filename: str) -> bool:
    if filename.startswith("<ipython-input") or "ipykernel_" in filename:
        return True
    if filename.startswith("<"):
        return filename in ("<stdin>", "<string>")
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        return False
    return not resolved.startswith(_LIBRARY_DIRS)


def where(tb: TracebackType | None) -> str | None:
    """'line 3 of your cell: return a / b' for the innermost learner frame, if any."""
    for frame in reversed(traceback.extract_tb(tb)):
        if _is_learner_file(frame.filename):
            place = "your cell" if ("ipykernel_" in frame.filename or frame.filename.startswith("<")) else (
                os.path.basename(frame.filename)
            )
            code = (frame.line or "").strip()
            return f"line {frame.lineno} of {place}" + (f": {code}" if code else "")
    return None


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SKIPPABLE = {"CACHE", "EXTENDED_ARG", "NOP", "TO_BOOL"}  # between a call and the jump that tests its value


def result_is_asserted(frame: Any) -> bool:
    """Is the value of the call running in ``frame`` tested by an ``assert`` statement?

    True for ``assert check("q"), "…"`` (the autograder test cell), False for ``check("q")`` or
    ``r = check("q")``. Read from the caller's bytecode: after the call come a conditional jump
    and ``LOAD_ASSERTION_ERROR``. Anything unexpected reads as False (the report is shown).
    """
    import dis

    try:
        after = [i for i in dis.get_instructions(frame.f_code) if i.offset > frame.f_lasti]
    except Exception:  # noqa: BLE001 - any doubt: not asserted, show the report
        return False
    for ins in after[:6]:
        if ins.opname == "LOAD_ASSERTION_ERROR":
            return True
        if ins.opname in _SKIPPABLE or ins.opname.startswith("POP_JUMP"):
            continue
        return False
    return False
