"""Reference answers for ``reveal``: the solution cell of a built solutions notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .progress_store import find_repo_root

__all__ = ["reference_answer", "solutions_dir"]


def solutions_dir() -> Path | None:
    """``$COURSEKIT_SOLUTIONS``, else ``<repo root>/solutions``, if it exists."""
    env = os.environ.get("COURSEKIT_SOLUTIONS")
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    root = find_repo_root()
    if root is not None and (root / "solutions").is_dir():
        return root / "solutions"
    return None


_MARKER_LINES = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def reference_answer(module_id: str, question_id: str, directory: Path | None = None) -> str | None:
    """The source of the solution cell whose nbgrader ``grade_id`` is ``question_id``.

    Looks in ``<solutions>/<module>/<module>.ipynb`` first, then any notebook in that folder.
    Returns None when there is no solutions folder or no such cell.

    >>> import json, pathlib, tempfile
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> (base / "01_lru").mkdir()
    >>> cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "lru_basic", "solution": True}},
    ...         "source": ["class LRU:\\n", "    ### BEGIN SOLUTION\\n", "    pass\\n", "    ### END SOLUTION\\n"]}
    >>> _ = (base / "01_lru" / "01_lru.ipynb").write_text(json.dumps({"cells": [cell]}))
    >>> print(reference_answer("01_lru", "lru_basic", base))
    class LRU:
        pass
    >>> reference_answer("01_lru", "other", base) is None
    True
    """
    base = directory or solutions_dir()
    if base is None or not (base / module_id).is_dir():
        return None
    first = base / module_id / f"{module_id}.ipynb"
    notebooks = [first] if first.is_file() else []
    notebooks += [p for p in sorted((base / module_id).glob("*.ipynb")) if p != first]
    for path in notebooks:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            meta = (cell.get("metadata") or {}).get("nbgrader") or {}
            if meta.get("grade_id") == question_id and meta.get("solution"):
                src = cell.get("source", "")
                src = "".join(src) if isinstance(src, list) else str(src)
                lines = [ln for ln in src.splitlines() if ln.strip() not in _MARKER_LINES]
                return "\n".join(lines).strip("\n")
    return None
