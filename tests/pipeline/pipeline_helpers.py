"""Shared helpers for the pipeline tests (imported as `pipeline_helpers`: several test folders have a conftest)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

from coursekit import build

ROOT = build.ROOT
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def regions(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """(lines inside begin/end regions, lines outside them) of one cell's source."""
    inside, outside, within = [], [], False
    for line in source.split("\n"):
        if begin in line:
            within = True
            continue
        if end in line:
            within = False
            continue
        (inside if within else outside).append(line)
    return inside, outside


def secret_lines(module_id: str, min_len: int = 6) -> dict[str, set[str]]:
    """Stripped solution and hidden-test lines of a module that appear nowhere in its public text."""
    nb = build.source_notebook(module_id)
    solution, hidden, public = set(), set(), set()
    for cell in nb.cells:
        sol_in, rest = regions(cell.source, BEGIN_SOLUTION, END_SOLUTION)
        hid_in, rest2 = regions("\n".join(rest), BEGIN_HIDDEN, END_HIDDEN)
        solution.update(line.strip() for line in sol_in)
        hidden.update(line.strip() for line in hid_in)
        public.update(line.strip() for line in rest2)
    keep = lambda lines: {ln for ln in lines if len(ln) >= min_len and ln not in public}  # noqa: E731
    # a hidden line that the reference solution also contains (e.g. `return default`) may
    # legitimately appear in a learner's own code
    return {"solution": keep(solution), "hidden": keep(hidden - solution)}


def html_text(markup: str) -> str:
    """Visible text of an HTML page: tags removed (pygments splits code into spans), entities decoded."""
    markup = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def committed(kind: str, module_id: str) -> Path:
    return ROOT / kind / module_id / f"{module_id}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)
